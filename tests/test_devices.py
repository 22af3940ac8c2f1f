"""Which dtype `model.dtype: auto` resolves to, per device and use."""

import pytest
import torch

import isara.devices as devices
from isara.devices import resolve_dtype

CPU = torch.device("cpu")


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_a_cpu_is_bf16_for_generation_and_training_only_where_native(monkeypatch, native):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: native)
    expected = torch.bfloat16 if native else torch.float32
    assert resolve_dtype("auto", CPU, cpu_bf16=True) == expected  # generation; training under autocast
    assert resolve_dtype("auto", CPU) == torch.float32  # judges score in float32 whatever the CPU


def test_a_named_dtype_is_taken_as_named(monkeypatch):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: True)
    assert resolve_dtype("float32", CPU, cpu_bf16=True) == torch.float32
    assert resolve_dtype("bfloat16", CPU) == torch.bfloat16
