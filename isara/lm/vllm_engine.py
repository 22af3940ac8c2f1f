"""Sampled and greedy decoding through vLLM (params.yaml `generation.backend: vllm`).

vLLM serves the sampled questions and the greedy evaluation answers, split over
`generation.tensor_parallel` GPUs. One `vllm.LLM` per (model, tensor parallel size, dtype) lives
for the whole process, and vLLM batches all of a call's prompts itself (continuous batching), so
`batch_size`, `max_batch_tokens` and `workers` do not apply here.

What stays the same as on the `hf` backend:
- prompts are the same token ids (`tokenizer(prompt, add_special_tokens=fmt.add_special_tokens)`);
- a turn ends at every id of `isara.lm.stops.stop_ids`, passed as `stop_token_ids`;
- a completion is `Completion(text, stop, tokens)`, its tokens counted up to and including the
  first stop.

What differs:
- each request is seeded from the run's seed and its own sample id (`batch_seed(seed, [id])`), so
  a sample's randomness depends on nothing else, but the samples are not the ones `hf` draws;
- the text ends before a stop string (vLLM cuts it off); `hf` keeps it, and the parsers cut there
  anyway (`isara.lm.prompts.parse_question`, `parse_answer`);
- `model.dtype: auto` resolves as on `hf` (bfloat16 on a GPU that supports it), whatever dtype the
  checkpoint was saved in.

Beam search stays on `hf`. vLLM's `LLM.beam_search` (`BeamSearchParams`: beam_width, max_tokens,
temperature, length_penalty, ignore_eos) has no repetition_penalty and no no_repeat_ngram_size,
ends a beam only on the tokenizer's single EOS id, and scores and prunes beams its own way (one
single-token `generate` call per step), so its answers would differ from the HF reference that the
paper's answers follow. `isara.lm.engine.Engine` therefore sends every decoding with
num_beams > 1 to `hf`.
"""

from __future__ import annotations

from typing import Sequence

from isara.errors import IsaraError
from isara.lm.completion import Completion
from isara.lm.generation import Decoding, batch_seed, context_error

INSTALL = ("generation.backend is 'vllm' but vllm is not installed: pip install \"isara[vllm]\" "
           "(needs a CUDA GPU), or set generation.backend: hf")

_LLMS: dict[tuple[str, int, str], object] = {}  # (source, tensor parallel size, dtype) -> vllm.LLM


def require_vllm() -> None:
    """A one-line error when vLLM cannot be imported."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise IsaraError(INSTALL) from None


def sampling_params_kwargs(decoding: Decoding, stop_ids: Sequence[int], seed: int) -> dict:
    """The `vllm.SamplingParams` keyword arguments of `decoding` (temperature 0 is greedy)."""
    if decoding.num_beams != 1:
        raise IsaraError("the vllm backend does not run beam search (num_beams > 1); it stays on hf")
    if decoding.no_repeat_ngram_size > 0:
        raise IsaraError(f"no_repeat_ngram_size ({decoding.no_repeat_ngram_size}) has no vLLM equivalent: "
                         "set it to 0, or set generation.backend: hf")
    return dict(
        max_tokens=decoding.max_new_tokens,
        temperature=decoding.temperature if decoding.do_sample else 0.0,
        top_k=decoding.top_k if decoding.do_sample and decoding.top_k > 0 else -1,
        top_p=decoding.top_p if decoding.do_sample else 1.0,
        repetition_penalty=decoding.repetition_penalty,
        stop=list(decoding.stop_strings),
        stop_token_ids=list(stop_ids),
        seed=seed,
        skip_special_tokens=True,
    )


def completion_of_output(output) -> Completion:
    """A `Completion` from one vLLM `CompletionOutput`: `stop_reason` is the stop string (str), the
    stop token id (int), or None for the model's EOS."""
    if output.finish_reason == "length":
        stop = "length"
    elif isinstance(output.stop_reason, str):
        stop = "stop_string"
    elif output.finish_reason == "stop":
        stop = "end"
    else:
        raise IsaraError(f"vLLM ended a request with finish_reason '{output.finish_reason}'")
    return Completion(output.text, stop, len(output.token_ids))


def serving_source(name: str) -> str:
    """The folder or hub id vLLM loads for the model `name` (references followed)."""
    from isara.lm.sources import adapter_base, model_source
    from isara.packaged import CAUSAL_LMS

    source = model_source(name)
    if name in CAUSAL_LMS or source in CAUSAL_LMS:
        raise IsaraError(f"model '{name}' is a packaged GGUF alias, which vLLM cannot serve: use a Hugging "
                         "Face folder (e.g. models/iter0) or hub id, or set generation.backend: hf")
    if adapter_base(source) is not None:
        raise IsaraError(f"model '{name}' is a LoRA adapter (finetune.save: adapter), which the vllm backend "
                         "does not apply: use finetune.save: merged or generation.backend: hf")
    return source


def end_ids(source: str, tokenizer) -> tuple[int, ...]:
    """Every id that ends a turn of the model at `source`, as the hf backend stops on."""
    from transformers import GenerationConfig

    from isara.lm.stops import stop_ids

    try:
        config = GenerationConfig.from_pretrained(source)
    except OSError:  # no generation_config.json
        config = None
    return stop_ids(config, tokenizer)


def _llm(source: str, tensor_parallel: int, dtype: str, seed: int):
    key = (source, tensor_parallel, dtype)
    if key not in _LLMS:
        from vllm import LLM

        _LLMS[key] = LLM(model=source, tensor_parallel_size=tensor_parallel, dtype=dtype, seed=seed)
    return _LLMS[key]


def _dtype_name(spec: str) -> str:
    import torch

    from isara.devices import resolve_dtype

    if spec != "auto" or not torch.cuda.is_available():
        return spec
    return str(resolve_dtype(spec, torch.device("cuda"), cpu_bf16=True)).removeprefix("torch.")


def generate_vllm(name: str, cfg, tokenizer, fmt, prompts: Sequence[str], decoding: Decoding,
                  ids: Sequence[str] | None, tensor_parallel: int, desc: str = "generate") -> list[Completion]:
    """Completions of `prompts` in order through vLLM; `ids` name the samples and seed them."""
    require_vllm()
    from vllm import SamplingParams

    ids = [str(i) for i in (ids if ids is not None else range(len(prompts)))]
    if len(ids) != len(prompts) or len(set(ids)) != len(ids):
        raise IsaraError("generation needs one distinct id per prompt")
    source = serving_source(name)
    stops = end_ids(source, tokenizer)
    prompt_ids = [tokenizer(p, add_special_tokens=fmt.add_special_tokens)["input_ids"] for p in prompts]
    llm = _llm(source, tensor_parallel, _dtype_name(cfg.dtype), decoding.seed)
    context_error(llm.llm_engine.model_config.max_model_len, max(len(p) for p in prompt_ids), decoding.max_new_tokens)
    params = [SamplingParams(**sampling_params_kwargs(decoding, stops, batch_seed(decoding.seed, [i])))
              for i in ids]
    outputs = llm.generate([{"prompt_token_ids": p} for p in prompt_ids], params, use_tqdm=True)
    return [completion_of_output(out.outputs[0]) for out in outputs]
