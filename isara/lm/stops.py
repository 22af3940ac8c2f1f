"""The token ids that end a model's turn: every id its generation config lists as EOS (a list for
Llama-3-style chat models: `<|end_of_text|>` and `<|eot_id|>`), the tokenizer's EOS, and the token
its chat template closes an assistant turn with (`<|im_end|>`, `<|eot_id|>`, `</s>`, ...)."""

from __future__ import annotations

_MARK = "\x00ISARA_END\x00"


def _as_list(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def template_end_id(tokenizer) -> int | None:
    """The special token right after an assistant message in the chat template, if it has one."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _MARK}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    after = text[text.index(_MARK) + len(_MARK):] if _MARK in text else ""
    ids = tokenizer(after, add_special_tokens=False)["input_ids"] if after.strip() else []
    special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    return ids[0] if ids and ids[0] in special else None


def stop_ids(generation_config, tokenizer) -> tuple[int, ...]:
    """Every id that ends a turn, in a fixed order, without repeats."""
    found = _as_list(getattr(generation_config, "eos_token_id", None)) + _as_list(tokenizer.eos_token_id)
    end = template_end_id(tokenizer)
    if end is not None:
        found.append(end)
    return tuple(dict.fromkeys(found))
