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
from transformers import LogitsProcessorList

from isara.errors import IsaraError
from isara.lm.batching import Batching, plan_batches
from isara.lm.completion import Completion
from isara.lm.partial import PartialLog, work_key
from isara.lm.prompts import PromptFormat
from isara.lm.sampling import NucleusDraw
from isara.lm.stops import stop_ids


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 50  # sampling: the k most likely tokens (Hugging Face's default; 0 = the whole vocabulary)
    top_p: float = 1.0
    num_beams: int = 1
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    stop_strings: tuple[str, ...] = ()
    seed: int = 0  # with the ids of a batch's samples, seeds that batch's sampling

    def kwargs(self, draw: bool = True) -> dict:
        """`generate`'s arguments. Sampling: drawn from the top-k candidates by `NucleusDraw` after
        greedy `generate`'s processors (`draw`), or by `generate`'s own warpers (the reference)."""
        kwargs = dict(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.do_sample and not draw,
            num_beams=self.num_beams,
            repetition_penalty=self.repetition_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        if self.do_sample and draw:
            kwargs["logits_processor"] = LogitsProcessorList([NucleusDraw(self.temperature, self.top_k, self.top_p)])
        elif self.do_sample:
            kwargs.update(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)
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
    prefill_tokens: int = Batching.prefill_tokens  # padded prompt tokens per prefill forward (`prefilled`)

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
    key = work_key(model_tag, asdict(decoding), prompt_ids, ids, batches, batching.prefill_tokens)
    return Work(prompt_ids, ids, decoding, batches, key, batching.prefill_tokens)


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
                                   **prefilled(model, decoding, input_ids, mask, work.prefill_tokens), pad_token_id=pad,
                                   eos_token_id=list(stops))
        new = generated[:, width:].tolist()
        done[b] = [completion_of(t, stops, decoding.stop_strings, tokenizer) for t in new]
        if log is not None:
            log.append(b, done[b])
    return done


def prefilled(model, decoding: Decoding, input_ids: torch.Tensor, mask: torch.Tensor,
              prefill_tokens: int = Batching.prefill_tokens) -> dict:
    """The KV cache `generate` starts from: every prompt of the batch but its last token, already run.

    - The prompts run once, in groups of consecutive (length-sorted) rows of at most
      `prefill_tokens` padded tokens, each padded only to its own longest prompt: on this CPU one
      forward over 32 in-context prompts of ~350 tokens took 7.2 s, in groups of 2048 tokens 5.3 s
      (less padding, and activations that stay in cache). The groups' caches are then left-padded
      to the batch's width, as one forward over the batch would have left them.
    - Beam search: each row is then repeated once per beam, where `generate` would run each prompt
      once per beam.
    - The cache is static, sized for the batch, where the model supports one: the default dynamic
      cache copies itself whole at every step (greedy: ~6% of the time here; 2-beam answers,
      which also reorder the cache at every step: ~9%).

    `generate` then runs only the last prompt token. Positions are those `generate` derives from the
    attention mask, so left padding is respected; float32 completions are those of `generate`'s own
    prefill (tests/test_generate.py). Models with sliding-window or recurrent layers run their
    prompts in one forward into a dynamic cache."""
    from transformers import DynamicCache, StaticCache

    width, copies = input_ids.shape[1], decoding.num_beams
    cache = DynamicCache(config=model.config)
    if not full_attention(cache):  # sliding windows, recurrent state: one forward, as `generate` would run it
        if width >= 2:
            _forward(model, input_ids, mask, cache)
        if copies > 1:
            cache.batch_repeat_interleave(copies)
        return {"cache": cache}
    if getattr(model, "_can_compile_fullgraph", False):
        cache = StaticCache(config=model.config, max_cache_len=width + decoding.max_new_tokens)
    if width >= 2:
        groups = prefill_groups(mask.sum(-1).tolist(), prefill_tokens)
        _fill(cache, [(len(g), _group_cache(model, input_ids[list(g)], mask[list(g)])) for g in groups], width - 1, copies)
    return {"cache": cache}


def prefill_groups(lengths: Sequence[int], prefill_tokens: int) -> list[range]:
    """Consecutive rows, each group at most `prefill_tokens` padded tokens (rows x its longest
    prompt); a row longer than that alone is a group of its own."""
    groups, start, longest = [], 0, 0
    for row, length in enumerate(lengths):
        longest = max(longest, length)
        if row > start and (row - start + 1) * longest > prefill_tokens:
            groups.append(range(start, row))
            start, longest = row, length
    groups.append(range(start, len(lengths)))
    return groups


def full_attention(cache) -> bool:
    """Whether every layer of `cache` keeps every position (no sliding window, no recurrent state)."""
    from transformers.cache_utils import DynamicLayer, StaticLayer

    return all(type(layer) in (DynamicLayer, StaticLayer) for layer in cache.layers)


def _forward(model, input_ids: torch.Tensor, mask: torch.Tensor, cache) -> None:
    """All but the last column of `input_ids` into `cache`, at the positions `generate` would use."""
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
    model(input_ids=input_ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
          cache=cache, use_cache=True, logits_to_keep=1)


def _group_cache(model, input_ids: torch.Tensor, mask: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """Per layer (keys, values) of one group's prompts, padded to the group's longest prompt only."""
    from transformers import DynamicCache

    width = int(mask.sum(-1).max())
    if width < 2:
        return None
    cache = DynamicCache(config=model.config)
    _forward(model, input_ids[:, -width:], mask[:, -width:], cache)
    return [(layer.keys, layer.values) for layer in cache.layers]


def _fill(cache, parts: list, width: int, copies: int) -> None:
    """Write the groups' caches ((rows, `_group_cache`) in row order), left-padded with zeros to
    `width` positions and each row repeated `copies` times (once per beam), into `cache`, layer by
    layer. A group with nothing to run holds zeros."""
    like = next(layers for _, layers in parts if layers is not None)
    for index, reference in enumerate(like):
        merged = []
        for i, states in enumerate(reference):  # keys, values
            pieces = [layers[index][i] if layers is not None else states.new_zeros((rows, states.shape[1], 0, states.shape[3]))
                      for rows, layers in parts]
            merged.append(torch.cat([_left_pad(piece, width) for piece in pieces]).repeat_interleave(copies, dim=0))
        cache.update(*merged, index)


def _left_pad(states: torch.Tensor, width: int) -> torch.Tensor:
    """(rows, heads, positions, dim) states with zeros before them up to `width` positions."""
    rows, heads, positions, dim = states.shape
    return torch.cat([states.new_zeros((rows, heads, width - positions, dim)), states], dim=2)


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
