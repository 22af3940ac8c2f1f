"""The base model as a folder every stage loads: `models/iter0`.

A packaged GGUF model is de-quantized once into a plain checkpoint (~26 s, instead of in every
stage); a hub id or a local folder is only referenced (`isara_model.json`), so that a 7B base
model is never copied into the DVC cache. The reference records the folder's content digest or the
hub revision, so that new weights under the same name make a new models/iter0.
"""

from __future__ import annotations

from pathlib import Path

import torch

from isara.errors import IsaraError
from isara.fingerprint import Digests, model_fingerprint
from isara.lm.models import open_model
from isara.lm.reference import write_reference
from isara.packaged import CAUSAL_LMS


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
    """Write `out_dir` so that loading it gives the base model named `name`; {"source", "kind"}."""
    out_dir = Path(out_dir)
    if name in CAUSAL_LMS:
        model, tokenizer = open_model(name, torch.device("cpu"), torch.float32)
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
                f"({', '.join(CAUSAL_LMS)}), not a local folder, and not loadable from the "
                f"Hugging Face hub ({type(err).__name__})"
            ) from None
        kind = "hub"
    digests = Digests()
    info = {"source": name, "kind": kind, **model_fingerprint(name, digests)}
    digests.save()
    write_reference(out_dir, info)
    return info
