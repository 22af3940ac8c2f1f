"""The scratch folder a fine-tune checkpoints into, beside its output (`models/iter1.checkpoints`),
so that a run killed mid-way resumes from its last complete checkpoint.

A checkpoint is complete once Trainer has written its `trainer_state.json` (the last file it
writes). The folder records what it was trained for (`isara_run.json`); a run for anything else
starts afresh. Trainer reads the optimizer, scheduler and RNG states back with
`torch.load(weights_only=True)`, which loads tensors and plain values only.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

RUN_FILE = "isara_run.json"
CHECKPOINT = re.compile(r"^checkpoint-(\d{1,12})$")


def scratch_dir(out: str | Path) -> Path:
    """The checkpoint folder of a model output folder."""
    out = Path(out)
    return out.with_name(out.name + ".checkpoints")


def _steps(scratch: Path) -> dict[int, Path]:
    found = {}
    for path in scratch.iterdir() if scratch.is_dir() else ():
        match = CHECKPOINT.match(path.name)
        if match and path.is_dir() and not path.is_symlink():
            found[int(match.group(1))] = path
    return found


def last_checkpoint(scratch: Path) -> Path | None:
    """The complete checkpoint of the most steps, or None."""
    complete = {step: path for step, path in _steps(scratch).items() if (path / "trainer_state.json").is_file()}
    return complete[max(complete)] if complete else None


def prepare_scratch(scratch: Path, fingerprint: str, is_main: bool, barrier: Callable[[], None]) -> None:
    """On the main process: keep `scratch` only if it was made for `fingerprint` (dropping incomplete
    checkpoints and an unfinished final save), else start it afresh; then every process waits."""
    if is_main:
        marker = scratch / RUN_FILE
        same = marker.is_file() and not marker.is_symlink() and marker.read_text(encoding="utf-8") == fingerprint
        if same:
            keep = last_checkpoint(scratch)
            for path in _steps(scratch).values():
                if path != keep:
                    shutil.rmtree(path)
            shutil.rmtree(scratch / "final", ignore_errors=True)
        else:
            remove_scratch(scratch)
            scratch.mkdir(parents=True)
            marker.write_text(fingerprint, encoding="utf-8")
    barrier()


def remove_scratch(scratch: Path) -> None:
    if scratch.is_symlink() or scratch.is_file():
        scratch.unlink()
    elif scratch.exists():
        shutil.rmtree(scratch)
