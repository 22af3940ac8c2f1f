"""Tiny random-weight checkpoints of the paper's two architecture families, for tests and smoke runs.

Each uses the real SmolLM2 tokenizer (read from the packaged GGUF, no hub needed):
- `llama`: a 2-layer LlamaForCausalLM that keeps the tokenizer's chat template (chat path);
- `opt`: a 2-layer OPTForCausalLM whose tokenizer has no chat template (plain-text path).
"""

from __future__ import annotations

from pathlib import Path

import torch

from isara.lm.tokens import ensure_pad_token
from isara.packaged import packaged_gguf

ARCHITECTURES = ("llama", "opt")


def _tokenizer():
    from transformers import AutoTokenizer

    folder, filename = packaged_gguf("smollm2-135m-instruct")
    return ensure_pad_token(AutoTokenizer.from_pretrained(folder, gguf_file=filename))


def _config(arch: str, tokenizer):
    from transformers import LlamaConfig, OPTConfig

    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    if arch == "llama":
        return LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           max_position_embeddings=2048, tie_word_embeddings=True, **ids)
    return OPTConfig(vocab_size=len(tokenizer), hidden_size=64, ffn_dim=128, num_hidden_layers=2,
                     num_attention_heads=4, word_embed_proj_dim=64, max_position_embeddings=2048,
                     **ids)


def build_tiny_model(arch: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random checkpoint of `arch` with the SmolLM2 tokenizer to `out_dir`."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    tokenizer = _tokenizer()
    if arch == "opt":
        tokenizer.chat_template = None
    torch.manual_seed(seed)
    config = _config(arch, tokenizer)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
