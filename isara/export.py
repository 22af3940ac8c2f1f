"""A model of the pipeline (or any model name) as a self-contained Hugging Face folder.

The folder holds the weights (an adapter folder merged into its base, as `open_weights` loads it),
in the dtype the model's config names, the tokenizer, the generation config, a model card
(`isara.export_card`) and, on request, `model.gguf` (`isara.export_gguf`). It is written beside its
final place and moved there when complete (`isara.atomic.atomic_dir`): a failure leaves nothing
half-written, and a folder that is already there and not empty is kept unless `force`. Whatever
can be refused (an unknown model, an architecture GGUF is not written for) is refused before
anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from isara.errors import IsaraError

GGUF_FILE = "model.gguf"


@dataclass(frozen=True)
class Export:
    """What to export and where: `model` (folder, packaged alias or hub id) to the folder `out`."""

    model: str
    out: Path
    name: str = ""  # the model's name in its card (default: the folder's name)
    metrics_dir: Path | None = None  # a pipeline method's metrics/methods/<method>/ (model-index)
    lock: Path | None = None  # the pipeline's dvc.lock (where its seed pairs came from)
    gguf_type: str | None = None  # f32 | f16: also write model.gguf
    force: bool = False  # replace an `out` that is not empty


def check_target(out: Path, force: bool) -> None:
    """Refuse an `out` that is a file, or a folder with anything in it unless `force`."""
    if out.exists() and not out.is_dir():
        raise IsaraError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise IsaraError(f"{out}: exists and is not empty (--force replaces it)")


def saved_dtype(config):
    """The dtype a model's config names for its weights (float32 when it names none)."""
    import torch

    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


def export_model(job: Export) -> Path:
    """Write the folder `job.out`; an IsaraError (nothing written) for what cannot be exported."""
    import torch

    from isara.atomic import atomic_dir
    from isara.export_card import export_card
    from isara.export_gguf import GGUF_TYPES, gguf_plan, write_gguf
    from isara.lm.models import open_config, open_tokenizer, open_weights
    from isara.lm.sources import adapter_chain

    check_target(job.out, job.force)
    if job.gguf_type is not None and job.gguf_type not in GGUF_TYPES:
        raise IsaraError(f"--gguf-type must be one of {', '.join(GGUF_TYPES)}, not '{job.gguf_type}'")
    chain = adapter_chain(job.model)
    tokenizer = open_tokenizer(job.model)
    config = open_config(job.model)
    plan = None
    if job.gguf_type is not None:
        if config is None:
            raise IsaraError(f"{job.model}: its config cannot be read, so --gguf cannot check its architecture")
        plan = gguf_plan(config, tokenizer)
    model = open_weights(job.model, torch.device("cpu"), saved_dtype(config))
    name = job.name or job.out.name
    card = export_card(name, chain, job.metrics_dir, job.lock)
    with atomic_dir(job.out) as tmp:
        model.save_pretrained(tmp)
        if not (tmp / "generation_config.json").is_file() and model.generation_config is not None:
            model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        if plan is not None:
            write_gguf(tmp / GGUF_FILE, model, tokenizer, plan, job.gguf_type, name)
        with_umask(tmp)
    return job.out


def with_umask(folder: Path) -> None:
    """Give every file in `folder` the permissions the user's umask gives a new file (a library may
    write some through a private temporary file, readable by its owner only)."""
    from isara.atomic import umask

    mask = umask()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o666 & ~mask)
