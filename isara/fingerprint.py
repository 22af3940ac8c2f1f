"""Content fingerprints of what DVC cannot hash itself: a base model given as a local folder, the
hub revision of a hub id, benchmark files outside the repository.

A file's sha256 is remembered by (path, size, mtime) in `.cache/isara/digests.json` (plain JSON,
read as data), so a 7B model folder is hashed once, not at every `dvc repro`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from isara.atomic import write_text_atomic

MEMO = Path(".cache/isara/digests.json")
CHUNK = 1 << 22


class Digests:
    """sha256 of files, remembered by (resolved path, size, mtime_ns) across runs."""

    def __init__(self, memo: Path = MEMO):
        self.memo = Path(memo)
        self.known: dict[str, list] = {}
        self.changed = False
        try:
            data = json.loads(self.memo.read_text(encoding="utf-8"))
            self.known = {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 3} if isinstance(data, dict) else {}
        except (OSError, ValueError):
            pass

    def file(self, path: str | Path) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        seen = self.known.get(str(path))
        if seen and seen[0] == stat.st_size and seen[1] == stat.st_mtime_ns and isinstance(seen[2], str):
            return seen[2]
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        self.known[str(path)] = [stat.st_size, stat.st_mtime_ns, digest.hexdigest()]
        self.changed = True
        return digest.hexdigest()

    def folder(self, path: str | Path) -> str:
        """sha256 over every file's relative path and content digest, in path order."""
        root = Path(path)
        digest = hashlib.sha256()
        for file in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{file.relative_to(root).as_posix()}\0{self.file(file)}\n".encode())
        return digest.hexdigest()

    def path(self, path: str | Path) -> str:
        return self.folder(path) if Path(path).is_dir() else self.file(path)

    def save(self) -> None:
        if self.changed:
            write_text_atomic(self.memo, json.dumps(self.known, indent=0) + "\n")
            self.changed = False


def hub_revision(repo_id: str) -> str | None:
    """The commit a hub id resolves to now: asked of the hub, else read from the local hub cache."""
    try:
        from huggingface_hub import HfApi, try_to_load_from_cache
    except ImportError:
        return None
    try:
        return HfApi().model_info(repo_id).sha
    except Exception:  # offline, unknown repo, no access: fall back to what is cached here
        cached = try_to_load_from_cache(repo_id, "config.json")
        return Path(cached).parent.name if isinstance(cached, str) else None


def model_fingerprint(name: str, digests: Digests) -> dict:
    """What a model name holds now: a packaged file's digest, a folder's (after its references),
    or a hub id's revision."""
    from isara.lm.reference import resolve
    from isara.packaged import CAUSAL_LMS, packaged_gguf

    if name in CAUSAL_LMS:
        folder, filename = packaged_gguf(name)
        return {"sha256": digests.file(Path(folder) / filename)}
    if Path(name).is_dir():
        source = resolve(name)
        if Path(source).is_dir():
            return {"sha256": digests.folder(source)}
        name = source
    return {"revision": hub_revision(name)}
