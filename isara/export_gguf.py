"""A LLaMA-architecture model and its byte-level BPE tokenizer as one GGUF file (llama.cpp's format).

What the file holds, in llama.cpp's own names (the `gguf` package's constants):
- the `llama.*` hyperparameters: context and embedding length, block count, feed-forward length,
  head counts, rope dimension count and base, the RMS norm epsilon, the vocabulary size;
- the tokenizer as `tokenizer.ggml.*`: model `gpt2` (byte-level BPE), the pre-tokenizer's name,
  every token by id with its type (control for special added tokens, user-defined for other added
  ones, unused for ids past the tokenizer's own), the merges, the bos/eos/unk/pad ids, whether BOS
  and EOS are added, an end-of-turn id when the generation config ends on one more id than EOS,
  and the chat template;
- every weight under its `blk.N.*` name (`gguf.TensorNameMap` of `MODEL_ARCH.LLAMA`), float32 or,
  with `f16`, float16 except the 1-D norms (llama.cpp's MOSTLY_F16). The q and k projections are
  stored with llama.cpp's rotary permutation (its halves interleaved per head), which transformers'
  GGUF loader reverses; a tied output projection is left out, which tells loaders it is tied.

What llama.cpp would read differently is refused before anything is written (`gguf_plan`): another
architecture, rope scaling, biases, a pre-tokenizer without a llama.cpp name here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from isara.errors import IsaraError

GGUF_TYPES = ("f32", "f16")


@dataclass(frozen=True)
class GgufPlan:
    """What a GGUF of one model holds besides its weights: hyperparameters and tokenizer fields."""

    hparams: dict  # llama.* key suffix -> value
    pre: str  # llama.cpp's name of the pre-tokenizer


def _rope_theta(config) -> float:
    parameters = getattr(config, "rope_parameters", None) or {}
    if parameters.get("rope_type", "default") != "default":
        raise IsaraError(f"--gguf: rope scaling {parameters['rope_type']!r} is not written to GGUF here")
    theta = parameters.get("rope_theta", getattr(config, "rope_theta", None))
    if theta is None:
        raise IsaraError("--gguf: the config names no rope_theta")
    return float(theta)


def llama_hparams(config) -> dict:
    """The `llama.*` keys of a LlamaConfig; an IsaraError for what they cannot say."""
    if config.model_type != "llama":
        raise IsaraError(f"--gguf writes LLaMA-architecture models only; this one is '{config.model_type}' "
                         "(export without --gguf)")
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise IsaraError("--gguf: a LLaMA with attention or MLP biases is not written to GGUF here")
    if getattr(config, "hidden_act", "silu") != "silu":
        raise IsaraError(f"--gguf: hidden_act '{config.hidden_act}' is not LLaMA's silu")
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    hparams = {
        "context_length": config.max_position_embeddings,
        "embedding_length": config.hidden_size,
        "block_count": config.num_hidden_layers,
        "feed_forward_length": config.intermediate_size,
        "attention.head_count": config.num_attention_heads,
        "attention.head_count_kv": config.num_key_value_heads or config.num_attention_heads,
        "rope.dimension_count": head_dim,
        "rope.freq_base": _rope_theta(config),
        "attention.layer_norm_rms_epsilon": float(config.rms_norm_eps),
        "vocab_size": config.vocab_size,
    }
    if head_dim * config.num_attention_heads != config.hidden_size:
        hparams.update({"attention.key_length": head_dim, "attention.value_length": head_dim})
    return hparams


def _splits() -> dict:
    """Split regex -> llama.cpp pre-tokenizer name, for the ones transformers' GGUF loader rebuilds."""
    try:
        from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS
    except ImportError:
        return {}
    names: dict = {}
    for name, regex in GGUF_PRE_TOKENIZER_SPLITS.items():
        names.setdefault(regex, name)
    return names


def pre_tokenizer_name(spec: dict) -> str:
    """llama.cpp's name of a byte-level pre-tokenizer (tokenizer.json's `pre_tokenizer`)."""
    def byte_level(step: dict, regex: bool) -> bool:
        return step.get("type") == "ByteLevel" and step.get("use_regex", True) == regex \
            and not step.get("add_prefix_space", False)

    steps = spec.get("pretokenizers", []) if spec.get("type") == "Sequence" else [spec]
    if len(steps) == 1 and byte_level(steps[0], True):
        return "gpt-2"
    if len(steps) == 2 and steps[0].get("type") == "Digits" and steps[0].get("individual_digits") \
            and byte_level(steps[1], True):
        return "smollm"
    if len(steps) == 2 and steps[0].get("type") == "Split" and byte_level(steps[1], False):
        name = _splits().get(steps[0].get("pattern", {}).get("Regex"))
        if name:
            return name
    raise IsaraError(f"--gguf: the tokenizer's pre-tokenizer has no llama.cpp name here ({json.dumps(spec)[:200]})")


def _tokenizer_spec(tokenizer) -> dict:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise IsaraError("--gguf needs a fast (tokenizers) tokenizer")
    spec = json.loads(backend.to_str())
    if spec["model"].get("type") != "BPE" or spec.get("normalizer") or not spec.get("pre_tokenizer"):
        raise IsaraError("--gguf writes byte-level BPE tokenizers (GPT-2 style) only")
    return spec


def gguf_plan(config, tokenizer) -> GgufPlan:
    """Everything a GGUF needs that could be refused, checked before any file is written."""
    return GgufPlan(llama_hparams(config), pre_tokenizer_name(_tokenizer_spec(tokenizer)["pre_tokenizer"]))


def vocabulary(tokenizer, vocab_size: int) -> tuple[list[str], list[int], list[str]]:
    """(tokens by id, their llama.cpp token types, merges as "a b") of a byte-level BPE tokenizer,
    padded with unused `[PADn]` tokens up to the model's `vocab_size`."""
    from gguf import TokenType

    spec = _tokenizer_spec(tokenizer)
    by_id = {index: (token, TokenType.NORMAL) for token, index in spec["model"]["vocab"].items()}
    for added in spec.get("added_tokens", []):
        kind = TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED
        by_id[added["id"]] = (added["content"], kind)
    size = max(vocab_size, max(by_id) + 1)
    pairs = [by_id.get(i, (f"[PAD{i}]", TokenType.UNUSED)) for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges", [])]
    return [t for t, _ in pairs], [int(k) for _, k in pairs], merges


def _adds(tokenizer, ids: dict) -> tuple[bool, bool]:
    """Whether encoding adds BOS, and EOS, around the text (`ids`: the special ids by name)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    extra = len(full) - len(plain)
    starts = extra > 0 and full[0] == ids["bos"] and full[1:1 + len(plain)] == plain
    ends = extra > 0 and full[-1] == ids["eos"] and full[-1 - len(plain):-1] == plain
    return starts, ends


def permute_rotary(weight, n_head: int):
    """llama.cpp's q/k layout: each head's rotary halves interleaved (transformers' GGUF loader undoes it)."""
    return (weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def gguf_tensors(model, gguf_type: str):
    """(GGUF name, numpy array, GGML type) of every weight of a LLaMA model, q/k permuted."""
    import numpy as np
    from gguf import MODEL_ARCH, GGMLQuantizationType, get_tensor_name_map

    config = model.config
    names = get_tensor_name_map(MODEL_ARCH.LLAMA, config.num_hidden_layers)
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise IsaraError(f"--gguf: no GGUF name for the weight '{hf_name}'")
        array = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            array = permute_rotary(array, heads)
        elif hf_name.endswith("k_proj.weight"):
            array = permute_rotary(array, kv_heads)
        if gguf_type == "f16" and array.ndim > 1:
            yield name, array.astype(np.float16), GGMLQuantizationType.F16
        else:
            yield name, np.ascontiguousarray(array, dtype=np.float32), GGMLQuantizationType.F32


def write_gguf(path: str | Path, model, tokenizer, plan: GgufPlan, gguf_type: str = "f16", name: str = "") -> Path:
    """Write `model` (a LlamaForCausalLM) and `tokenizer` as one GGUF file at `path`."""
    from gguf import GGUFWriter, LlamaFileType

    if gguf_type not in GGUF_TYPES:
        raise IsaraError(f"--gguf-type must be one of {', '.join(GGUF_TYPES)}, not '{gguf_type}'")
    writer = GGUFWriter(str(path), "llama")
    writer.add_name(name or Path(path).parent.name)
    writer.add_file_type(LlamaFileType.ALL_F32 if gguf_type == "f32" else LlamaFileType.MOSTLY_F16)
    for key, value in plan.hparams.items():
        if isinstance(value, float):
            writer.add_float32(f"llama.{key}", value)
        else:
            writer.add_uint32(f"llama.{key}", int(value))
    _add_tokenizer(writer, model, tokenizer, plan.pre)
    for tensor_name, array, ggml_type in gguf_tensors(model, gguf_type):
        writer.add_tensor(tensor_name, array, raw_dtype=ggml_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(path)


def _add_tokenizer(writer, model, tokenizer, pre: str) -> None:
    tokens, types, merges = vocabulary(tokenizer, model.config.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    ids = {"bos": tokenizer.bos_token_id, "eos": tokenizer.eos_token_id, "unk": tokenizer.unk_token_id,
           "pad": tokenizer.pad_token_id}
    adders = {"bos": writer.add_bos_token_id, "eos": writer.add_eos_token_id, "unk": writer.add_unk_token_id,
              "pad": writer.add_pad_token_id}
    for key, token_id in ids.items():
        if token_id is not None:
            adders[key](int(token_id))
    add_bos, add_eos = _adds(tokenizer, ids)
    writer.add_add_bos_token(add_bos)
    writer.add_add_eos_token(add_eos)
    writer.add_add_space_prefix(False)
    ends = model.generation_config.eos_token_id if model.generation_config is not None else None
    others = [i for i in (ends if isinstance(ends, list) else [ends]) if i is not None and i != ids["eos"]]
    if others:
        writer.add_eot_token_id(int(others[0]))
    if isinstance(getattr(tokenizer, "chat_template", None), str):
        writer.add_chat_template(tokenizer.chat_template)
