"""Tiny random-weight checkpoints of the paper's two architecture families, for tests and smoke runs.

Each uses the real SmolLM2 tokenizer (read from the packaged GGUF, no hub needed):
- `llama`: a 2-layer LlamaForCausalLM that keeps the tokenizer's chat template (chat path);
- `opt`: a 2-layer OPTForCausalLM whose tokenizer has no chat template (plain-text path);
- `llama3`: a 2-layer LlamaForCausalLM laid out like a Llama-3 chat model: the Llama-3 header and
  end-of-turn tokens added to the tokenizer, a Llama-3 chat template whose turns end on
  `<|eot_id|>`, and a generation config with two end ids, `<|end_of_text|>` and `<|eot_id|>`.
"""

from __future__ import annotations

from pathlib import Path


ARCHITECTURES = ("llama", "opt", "llama3")
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def _tokenizer():
    from isara.lm.models import open_tokenizer

    return open_tokenizer("smollm2-135m-instruct")


def _config(arch: str, tokenizer):
    from transformers import LlamaConfig, OPTConfig

    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    if arch in ("llama", "llama3"):
        return LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           max_position_embeddings=2048, tie_word_embeddings=arch == "llama", **ids)
    return OPTConfig(vocab_size=len(tokenizer), hidden_size=64, ffn_dim=128, num_hidden_layers=2,
                     num_attention_heads=4, word_embed_proj_dim=64, max_position_embeddings=2048,
                     **ids)


def build_tiny_model(arch: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random checkpoint of `arch` with the SmolLM2 tokenizer to `out_dir`."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    tokenizer = _tokenizer()
    if arch == "opt":
        tokenizer.chat_template = None
    end_ids = None
    if arch == "llama3":
        tokenizer.add_special_tokens({"additional_special_tokens": LLAMA3_SPECIALS})
        tokenizer.bos_token, tokenizer.eos_token = "<|begin_of_text|>", "<|end_of_text|>"
        tokenizer.chat_template = LLAMA3_TEMPLATE
        end_ids = tokenizer.convert_tokens_to_ids(["<|end_of_text|>", "<|eot_id|>"])
    torch.manual_seed(seed)
    config = _config(arch, tokenizer)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=end_ids or config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
