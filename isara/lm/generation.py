"""Batched Hugging Face generation: length-bucketed batches, every end-of-turn id, seeded per batch,
resumable batch by batch.

The work (prompts, decoding, batch plan) is fixed before anything runs, so that one process,
several processes (`isara.lm.engine`) and a re-run after a crash all compute the same batches with
the same seeds and so write the same completions.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

import torch
from tqdm.auto import tqdm

from isara.errors import IsaraError
from isara.lm.batching import Batching, plan_batches
from isara.lm.completion import Completion
from isara.lm.partial import PartialLog, work_key
from isara.lm.prompts import PromptFormat
from isara.lm.stops import stop_ids


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    num_beams: int = 1
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    stop_strings: tuple[str, ...] = ()
    seed: int = 0  # with the ids of a batch's samples, seeds that batch's sampling

    def kwargs(self) -> dict:
        kwargs = dict(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.do_sample,
            num_beams=self.num_beams,
            repetition_penalty=self.repetition_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        if self.do_sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        if self.stop_strings:
            kwargs["stop_strings"] = list(self.stop_strings)
        return kwargs


@dataclass(frozen=True)
class Work:
    """Prompts as token ids, their sample ids, the decoding and the batch plan: all a run needs."""

    prompt_ids: list[list[int]]
    ids: list[str]
    decoding: Decoding
    batches: list[list[int]]
    key: str = field(default="")

    def sizes(self) -> dict[int, int]:
        return {b: len(batch) for b, batch in enumerate(self.batches)}


def context_error(limit, prompt_tokens: int, new_tokens: int) -> None:
    """A clear error, instead of a giant allocation or garbage, when a prompt cannot fit a context of `limit`."""
    if isinstance(limit, int) and prompt_tokens + new_tokens > limit:
        raise IsaraError(f"a prompt of {prompt_tokens} tokens plus {new_tokens} new ones exceeds the model's "
                         f"context of {limit} tokens: shorten the examples, lower k or the max_new_tokens")


def check_context(model, prompt_tokens: int, new_tokens: int) -> None:
    context_error(getattr(model.config, "max_position_embeddings", None), prompt_tokens, new_tokens)


def plan_work(tokenizer, fmt: PromptFormat, prompts: Sequence[str], decoding: Decoding, batching: Batching,
              ids: Sequence[str] | None = None, model_tag: object = None) -> Work:
    """Tokenise `prompts` and fix their batches; `model_tag` (what the model is) enters the work's key."""
    ids = [str(i) for i in (ids if ids is not None else range(len(prompts)))]
    if len(ids) != len(prompts) or len(set(ids)) != len(ids):
        raise IsaraError("generation needs one distinct id per prompt")
    prompt_ids = [tokenizer(p, add_special_tokens=fmt.add_special_tokens)["input_ids"] for p in prompts]
    batches = plan_batches([len(p) for p in prompt_ids], decoding.max_new_tokens, decoding.num_beams, batching)
    key = work_key(model_tag, asdict(decoding), prompt_ids, ids, batches)
    return Work(prompt_ids, ids, decoding, batches, key)


def batch_seed(seed: int, ids: Iterable[str]) -> int:
    """The sampling seed of a batch: from the run's seed and its samples' ids, not from the process."""
    digest = hashlib.sha256(("\x1f".join([str(seed), *ids])).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def completion_of(tokens: list[int], stops: Sequence[int], stop_strings: Sequence[str], tokenizer) -> Completion:
    """The completion in one row of new tokens: cut at its first end-of-turn id."""
    stops = set(stops)
    end = next((n for n, t in enumerate(tokens) if t in stops), None)
    text = tokenizer.decode(tokens[:end], skip_special_tokens=True)
    if any(s in text for s in stop_strings):
        return Completion(text, "stop_string", len(tokens) if end is None else end)
    if end is not None:
        return Completion(text, "end", end + 1)
    return Completion(text, "length", len(tokens))


@torch.inference_mode()
def run_batches(model, tokenizer, work: Work, which: Iterable[int], log: PartialLog | None = None,
                desc: str = "generate", progress: bool = True) -> dict[int, list[Completion]]:
    """Generate the batches numbered `which`; each finished batch goes to `log` at once."""
    decoding = work.decoding
    stops = stop_ids(model.generation_config, tokenizer)
    extra = {"tokenizer": tokenizer} if decoding.stop_strings else {}
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    which = list(which)
    done: dict[int, list[Completion]] = {}
    for b in tqdm(which, desc=desc, unit="batch", disable=not progress):
        rows = [work.prompt_ids[i] for i in work.batches[b]]
        width = max(len(r) for r in rows)
        check_context(model, width, decoding.max_new_tokens)
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=model.device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=model.device)
        torch.manual_seed(batch_seed(decoding.seed, (work.ids[i] for i in work.batches[b])))
        generated = model.generate(input_ids=input_ids, attention_mask=mask, **decoding.kwargs(), **extra,
                                   **_cache(model, decoding, input_ids, mask), pad_token_id=pad,
                                   eos_token_id=list(stops))
        new = generated[:, width:].tolist()
        done[b] = [completion_of(t, stops, decoding.stop_strings, tokenizer) for t in new]
        if log is not None:
            log.append(b, done[b])
    return done


def _cache(model, decoding: Decoding, input_ids: torch.Tensor, mask: torch.Tensor) -> dict:
    """The KV cache `generate` starts from. Beam search: the prompt already run once (`prefilled`).
    Greedy: a static cache sized for this batch, since the default dynamic cache copies itself whole
    at every step (measured: ~6% of greedy time here). Sampling keeps the default."""
    if decoding.num_beams > 1:
        return prefilled(model, input_ids, mask, decoding.num_beams)
    if decoding.do_sample or not getattr(model, "_can_compile_fullgraph", False):
        return {}
    from transformers import StaticCache

    return {"cache": StaticCache(config=model.config, max_cache_len=input_ids.shape[1] + decoding.max_new_tokens)}


def prefilled(model, input_ids: torch.Tensor, mask: torch.Tensor, copies: int) -> dict:
    """A cache holding the prompts (all but their last token) run once, then repeated `copies` times.

    `generate` repeats every prompt once per beam before running it, so a 2-beam batch ran each
    prompt twice: on in-context prompts of ~350 tokens that prefill is most of the work. Run once
    and handed over, `generate` runs only the last prompt token and then decodes as before (float32
    outputs identical to `generate`'s own: tests/test_generate.py). Positions are those `generate`
    derives from the attention mask, so left padding is respected."""
    if copies == 1 or input_ids.shape[1] < 2:
        return {}
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
    model(input_ids=input_ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
          cache=cache, use_cache=True, logits_to_keep=1)
    cache.batch_repeat_interleave(copies)
    return {"cache": cache}


def assemble(work: Work, done: dict[int, list[Completion]]) -> list[Completion]:
    """Completions in prompt order from finished batches."""
    out: list[Completion | None] = [None] * len(work.ids)
    for b, batch in enumerate(work.batches):
        for i, completion in zip(batch, done[b]):
            out[i] = completion
    return out  # type: ignore[return-value]


def run_work(model, tokenizer, work: Work, log_dir=None, desc: str = "generate") -> list[Completion]:
    """All of `work` in this process; with `log_dir`, batches a killed run finished are not redone."""
    log = PartialLog(log_dir, work.key) if log_dir is not None else None
    done = log.done(work.sizes()) if log else {}
    resuming(desc, len(done), len(work.batches))
    todo = [b for b in range(len(work.batches)) if b not in done]
    done.update(run_batches(model, tokenizer, work, todo, log, desc))
    return assemble(work, done)


def resuming(desc: str, done: int, total: int) -> None:
    if done:
        tqdm.write(f"{desc}: resuming, {done} of {total} batches already done")


def generate(model, tokenizer, fmt: PromptFormat, prompts: Sequence[str], decoding: Decoding,
             batching: Batching = Batching(), ids: Sequence[str] | None = None, log_dir=None,
             desc: str = "generate") -> list[Completion]:
    """The continuation of each prompt by a loaded model, in this process (`isara.lm.engine` for
    workers and backends)."""
    work = plan_work(tokenizer, fmt, prompts, decoding, batching, ids, model_tag(model))
    return run_work(model, tokenizer, work, log_dir, desc)


def model_tag(model) -> dict:
    """What identifies a loaded model's completions: its source, dtype and device kind."""
    return {"source": getattr(model.config, "_name_or_path", ""), "dtype": str(model.dtype),
            "device": model.device.type, "config": model.config.to_json_string()}
