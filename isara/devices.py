"""Which device and dtype a stage computes on: CUDA when present, bfloat16 where it is supported."""

from __future__ import annotations

import os

import torch

from isara.errors import IsaraError


def resolve_device(spec: str | torch.device) -> torch.device:
    """`auto` (CUDA when present, else CPU), `cpu`, `cuda` or `cuda:N` as a torch device."""
    if isinstance(spec, torch.device):
        return spec
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise IsaraError(f"model.device is '{spec}' but no CUDA device is available")
    return torch.device(spec)


def worker_device(spec: str, rank: int, workers: int) -> torch.device:
    """The device of worker `rank` of `workers`: CUDA device `rank` when the spec allows CUDA, else CPU."""
    device = resolve_device(spec)
    if device.type != "cuda" or workers == 1:
        return device
    if rank >= torch.cuda.device_count():
        raise IsaraError(f"{workers} workers need {workers} CUDA devices; {torch.cuda.device_count()} found")
    return torch.device("cuda", rank)


def cpu_threads(workers: int) -> int:
    """Each of `workers` CPU processes gets its share of the cores: two torch processes with the
    default thread count on the same cores slow each other many times over."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // workers)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), so that bf16 is faster, not slower."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_dtype(spec: str, device: torch.device, cpu_bf16: bool = False) -> torch.dtype:
    """`auto` or a torch dtype name. `auto` is bfloat16 on a CUDA device that supports it; on a CPU it
    is float32, except where the caller allows bfloat16 (`cpu_bf16`: generation, and fine-tuning,
    which keeps float32 master weights under bf16 autocast) on a CPU with native bfloat16. Judges
    score in float32 on a CPU, so their measured error holds."""
    if spec == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if device.type == "cpu" and cpu_bf16 and cpu_has_bf16():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, spec)
