"""Which device and dtype a stage computes on: CUDA when present, bfloat16 where it is supported."""

from __future__ import annotations

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


def resolve_dtype(spec: str, device: torch.device) -> torch.dtype:
    """`auto` (bfloat16 on a CUDA device that supports it, else float32) or a torch dtype name."""
    if spec == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, spec)
