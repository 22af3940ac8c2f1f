"""Files and folders that never exist half-written: each is built beside its final path (a hidden
`.NAME.*.tmp` sibling) and moved into place only when complete, so a crash or Ctrl-C leaves the
previous version (or nothing). Siblings left by a killed run are removed when the next one starts;
what lands gets the permissions the user's umask gives, as any other file would (DVC later makes
the outputs it caches read-only links into its cache, 0444). A file system error while writing
(a full disk) names the file being written, never the hidden sibling, so that a stage's one error
line says where."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def clear_stale(path: Path) -> None:
    """Remove the temporary siblings of `path` a killed run left behind."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


# what a write refuses with, naming no file: disk full, quota, file too large, read-only, I/O error
WRITE_ERRNOS = {getattr(errno, code) for code in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EIO") if hasattr(errno, code)}


def name_target(err: OSError, tmp: Path, path: Path) -> None:
    """Make `err` name what is being written at `path`: `path` itself for a write error that names
    no file (a full disk says only "No space left on device"), and the file under `path` for one
    under `tmp`. Other errors (a network timeout, say) are left as they are."""
    for attribute in ("filename", "filename2"):
        name = getattr(err, attribute)
        if name is None:
            if attribute == "filename" and err.errno in WRITE_ERRNOS:
                err.filename = str(path)
            continue
        try:
            inside = Path(os.path.abspath(os.fsdecode(name))).relative_to(os.path.abspath(tmp))
        except (TypeError, ValueError):
            continue
        setattr(err, attribute, str(path / inside) if inside.parts else str(path))


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path that replaces `path` only if the block finishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except OSError as err:
        name_target(err, Path(tmp), path)
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces `path` only if the block finishes without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as err:
        name_target(err, tmp, path)
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def write_json(path: str | Path, obj: dict) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
