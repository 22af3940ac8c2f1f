"""The scratch folder a fine-tune checkpoints into, beside its output (`models/iter1.checkpoints`),
so that a run killed mid-way resumes from its last complete checkpoint.

A checkpoint is complete once Trainer has written its `trainer_state.json` (the last file it
writes). The folder records what it was trained for (`isara_run.json`); a run for anything else
starts afresh. Trainer reads the optimizer, scheduler and RNG states back with
`torch.load(weights_only=True)`, which loads tensors and plain values only.

Before a run resumes, the newest complete checkpoint is verified (`checkpoint_problem`): its JSON
files parse, its trainer state is that of its step, its weights are there and their safetensors
headers cover the files, and every `.pt`/`.pth` state loads with `weights_only=True` (memory-mapped,
so an optimizer state of many gigabytes is not read whole). One that fails (a truncated file, a
garbled state, deleted weights) is said in one line and removed, and the next older complete one is
tried; with none left, training starts over, which is said too. Trainer keeps the last two
checkpoints (`save_total_limit=2` in `isara.train.sft`), so there is one to fall back to.
Sharded FSDP and DeepSpeed states (folders) are checked for presence only.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

import click

RUN_FILE = "isara_run.json"
CHECKPOINT = re.compile(r"^checkpoint-(\d{1,12})$")
STATE = "trainer_state.json"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors",
           "pytorch_model.bin", "pytorch_model.bin.index.json", "adapter_model.bin")


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


def _complete(scratch: Path) -> dict[int, Path]:
    return {step: path for step, path in _steps(scratch).items() if (path / STATE).is_file()}


def last_checkpoint(scratch: Path) -> Path | None:
    """The complete checkpoint of the most steps, or None."""
    complete = _complete(scratch)
    return complete[max(complete)] if complete else None


def _said(err: Exception) -> str:
    """An exception as a short phrase: its first line, at most 120 characters."""
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 120 else text[:117] + "..."


def _state_problem(path: Path, step: int) -> str | None:
    from dataclasses import fields

    from transformers.trainer_callback import TrainerState

    state = json.loads((path / STATE).read_text(encoding="utf-8"))
    if not isinstance(state, dict) or not set(state) <= {f.name for f in fields(TrainerState)}:
        return f"{STATE} is not a trainer state"
    if type(state.get("global_step")) is not int or state["global_step"] != step:
        return f"{STATE} holds global_step {state.get('global_step')!r}, not {step}"
    history = state.get("log_history")
    if not isinstance(history, list) or not all(isinstance(entry, dict) for entry in history):
        return f"{STATE} has no list of logged steps"
    return None


def _weights_problem(path: Path) -> str | None:
    if not any((path / name).is_file() for name in WEIGHTS) and not any(p.is_dir() for p in path.iterdir()):
        return "it holds no weights"
    for name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (path / name).is_file():
            shards = json.loads((path / name).read_text(encoding="utf-8")).get("weight_map")
            if not isinstance(shards, dict) or not shards:
                return f"{name} maps no weights to shards"
            missing = sorted({str(s) for s in shards.values() if not isinstance(s, str) or not (path / s).is_file()})
            if missing:
                return f"{name} names {len(missing)} missing shard(s), first {missing[0]}"
    return None


def _optimizer_problem(path: Path) -> str | None:
    names = [p.name for p in path.iterdir()]
    if not any(n.startswith("optimizer") or n.endswith("-optimizer.pt") or n.startswith("global_step") for n in names):
        return "it holds no optimizer state"
    return None


def _load_problem(file: Path) -> str | None:
    """Why one saved file does not load, or None."""
    try:
        if file.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(file), framework="pt") as handle:  # the header must cover the file
                for name in handle.keys():
                    handle.get_slice(name).get_shape()
        elif file.suffix in (".pt", ".pth"):
            import torch
            from transformers.trainer_pt_utils import safe_globals

            with safe_globals():  # numpy arrays of the RNG states, as Trainer allows them
                torch.load(file, map_location="cpu", weights_only=True, mmap=True)
        elif file.suffix == ".json":
            if not isinstance(json.loads(file.read_text(encoding="utf-8")), dict):
                return "is not a JSON object"
    except Exception as err:  # a damaged file fails in many ways: each is a reason not to resume
        return f"does not load ({_said(err)})"
    return None


def checkpoint_problem(path: Path) -> str | None:
    """What is wrong with checkpoint folder `path` (checkpoint-STEP), as a phrase, or None if it can
    be resumed from."""
    saved = (".json", ".safetensors", ".pt", ".pth")
    for file in sorted(p for p in path.iterdir() if p.is_file() and p.suffix in saved):
        problem = _load_problem(file)
        if problem:
            return f"{file.name} {problem}"
    if not (path / STATE).is_file():
        return f"it has no {STATE}"
    match = CHECKPOINT.match(path.name)
    if match is None:
        return "its name is not checkpoint-STEP"
    return _state_problem(path, int(match.group(1))) or _weights_problem(path) or _optimizer_problem(path)


def usable_checkpoint(scratch: Path) -> Path | None:
    """The newest complete checkpoint that passes `checkpoint_problem`; newer complete ones that fail
    are said and removed. With one found after a failure, or none, that is said too."""
    failed = False
    for step, path in sorted(_complete(scratch).items(), reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            if failed:
                click.echo(f"finetune: resuming from {path} instead", err=True)
            return path
        click.echo(f"finetune: checkpoint {path} is damaged, removed: {problem}", err=True)
        shutil.rmtree(path)
        failed = True
    if failed:
        click.echo(f"finetune: no usable checkpoint left in {scratch}: training starts over", err=True)
    return None


def prepare_scratch(scratch: Path, fingerprint: str, is_main: bool, barrier: Callable[[], None]) -> None:
    """On the main process: keep `scratch` only if it was made for `fingerprint`, and in it only the
    newest checkpoint that verifies (dropping damaged and incomplete ones, older ones and an
    unfinished final save), else start it afresh; then every process waits."""
    if is_main:
        marker = scratch / RUN_FILE
        same = marker.is_file() and not marker.is_symlink() and marker.read_text(encoding="utf-8") == fingerprint
        if same:
            keep = usable_checkpoint(scratch)
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
