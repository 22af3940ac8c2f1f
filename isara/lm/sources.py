"""Where a model name leads: a folder's references followed (`isara.lm.reference`), and, for a LoRA
adapter folder (`finetune.save: adapter`), the chain of bases it is built on.

An adapter folder holds adapter_config.json, whose `base_model_name_or_path` names the model the
adapter applies to: a folder (itself possibly an adapter), a packaged alias or a hub id. The
finetune stage writes a folder there as a path relative to the repository root, the folder the
stages run in (`models/iter0`: the base stage's folder, not the weights it refers to), so that the
adapter does not depend on where the project was checked out. Loading finds a relative folder
beside the adapter first (under each folder above it, the nearest first; the repository root is
one of them), then under the working directory; so an adapter loads from any working directory
while it stays inside its project. Anything else is kept as written (an absolute folder, an alias,
a hub id).

Every walk from an adapter to its base goes through `adapter_chain`, which refuses a loop (a1
names a2, a2 names a1) and a chain of more than MAX_ADAPTERS adapters before anything is loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from isara.errors import IsaraError
from isara.lm.reference import resolve

ADAPTER_FILE = "adapter_config.json"
MAX_ADAPTERS = 8  # adapters stacked on adapters: far beyond any real chain


def model_source(model_dir: str | Path) -> str:
    """The folder or hub id that `model_dir` stands for: itself, or where its references lead."""
    source = resolve(model_dir)
    if Path(source).is_dir() and not (Path(source) / "config.json").is_file() \
            and not (Path(source) / ADAPTER_FILE).is_file():
        raise IsaraError(f"{source}: not a model folder (no config.json)")
    return source


def adapter_base(folder: str | Path) -> str | None:
    """The base an adapter folder names, as written in its adapter_config.json; None for a model."""
    path = Path(folder) / ADAPTER_FILE
    if not path.is_file():
        return None
    try:
        base = json.loads(path.read_text(encoding="utf-8"))["base_model_name_or_path"]
    except (ValueError, KeyError, TypeError):
        raise IsaraError(f"{path}: not an adapter config (no base_model_name_or_path)") from None
    if not isinstance(base, str) or not base:
        raise IsaraError(f"{path}: base_model_name_or_path must name a model folder or a hub id")
    return base


def base_location(folder: str | Path, base: str) -> str:
    """Where the `base` that the adapter in `folder` names is: a relative path that is a folder
    under one of `folder`'s parents (nearest first) or under the working directory, joined to it;
    anything else (an absolute path, an alias, a hub id) as it is."""
    if Path(base).is_absolute():
        return base
    for parent in [*Path(folder).parents, Path()]:
        if (parent / base).is_dir():
            return str(parent / base)
    return base


def adapter_chain(name: str | Path) -> list[str]:
    """What the model `name` is built from, itself first: its source (references followed) and,
    while that is an adapter folder, the source of the base it names, down to a plain model folder,
    packaged alias or hub id. A name that is not a folder is its own chain: [name]. A loop, or more
    than MAX_ADAPTERS adapters stacked, is one IsaraError line naming the folders."""
    if not Path(name).is_dir():
        return [str(name)]
    chain = [model_source(name)]
    while Path(chain[-1]).is_dir() and (base := adapter_base(chain[-1])) is not None:
        if len(chain) > MAX_ADAPTERS:
            raise IsaraError(f"{' -> '.join(chain)}: more than {MAX_ADAPTERS} adapters stacked, each on the "
                             f"base its {ADAPTER_FILE} names")
        located = base_location(chain[-1], base)
        source = model_source(located) if Path(located).is_dir() else located
        if Path(source).is_dir() and any(Path(source).resolve() == Path(f).resolve() for f in chain):
            raise IsaraError(f"{' -> '.join([*chain, source])}: these adapters' {ADAPTER_FILE} name each other "
                             "as base_model_name_or_path in a loop")
        chain.append(source)
    return chain


def project_path(folder: str | Path) -> str:
    """`folder` relative to the working directory (the repository root, where stages run) when it
    lies under it, else absolute; with "/" separators either way."""
    absolute = Path(os.path.normpath(Path(folder).absolute()))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def trained_base(start: str | Path) -> str:
    """The base of an adapter trained from the model `start`, as its adapter_config.json names it:
    `start`'s own base when `start` is an adapter (the round trains that adapter on), else `start`
    itself (`models/iter0`, not the weights it refers to); a folder as `project_path` writes it."""
    source = model_source(start) if Path(start).is_dir() else str(start)
    base = adapter_base(source) if Path(source).is_dir() else None
    target = base_location(source, base) if base is not None else str(start)
    return project_path(target) if Path(target).is_dir() else target


def name_base(folder: str | Path, base: str) -> None:
    """Make the adapter in `folder` name `base` (a folder or hub id, written as given); a folder
    that holds no adapter is left as it is."""
    path = Path(folder) / ADAPTER_FILE
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
