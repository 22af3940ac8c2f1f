"""What writes completions for a stage: one model, its batching, its backend and its workers.

- `hf` (the reference): Hugging Face `generate` in length-bucketed batches (`isara.lm.generation`).
  With `workers` > 1 the batches are dealt round-robin to that many processes (torch
  multiprocessing, spawned), one per CUDA device, or each with its share of the cores on a CPU;
  every worker appends its finished batches to the stage's partial log, from which the result is
  assembled in prompt order, so N workers write exactly what one does.
- `vllm`: sampled and greedy decoding through vLLM (`isara.lm.vllm_engine`), with tensor
  parallelism; beam search stays on `hf` (see that module for why).

With a log folder (`isara.lm.partial`), a run that was killed continues from its last finished batch.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from isara.config.names import BACKENDS
from isara.errors import IsaraError
from isara.lm.batching import Batching
from isara.lm.completion import Completion
from isara.lm.generation import Decoding, Work, assemble, plan_work, resuming, run_batches, run_work
from isara.lm.partial import PartialLog


@dataclass(frozen=True)
class Backend:
    name: str = "hf"  # hf | vllm
    tensor_parallel: int = 1  # vllm: GPUs one model is split over


def _worker(rank: int, name: str, cfg, work: Work, workers: int, log_dir: str, desc: str) -> None:
    import torch

    from isara.devices import cpu_threads, worker_device
    from isara.lm.models import load_configured

    device = worker_device(cfg.device, rank, workers)
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(workers))
    model, tokenizer, _ = load_configured(name, cfg, device=device, generating=True)
    log = PartialLog(log_dir, work.key, rank)
    done = log.done(work.sizes())
    mine = [b for b in range(len(work.batches)) if b % workers == rank and b not in done]
    run_batches(model, tokenizer, work, mine, log, f"{desc} [worker {rank}]", progress=rank == 0)


class Engine:
    """Generation with the model `name` as params.yaml `model:` (`cfg`) configures it."""

    def __init__(self, name: str | Path, cfg, batching: Batching = Batching(), backend: Backend = Backend()):
        from isara.lm.models import open_tokenizer, source_stamp
        from isara.lm.prompts import format_for

        if backend.name not in BACKENDS:
            raise IsaraError(f"generation.backend must be one of {', '.join(BACKENDS)}, not '{backend.name}'")
        if backend.name == "vllm":
            from isara.lm.vllm_engine import require_vllm

            require_vllm()
        self.name, self.cfg, self.batching, self.backend = str(name), cfg, batching, backend
        self.tokenizer = open_tokenizer(self.name)
        self.fmt = format_for(self.tokenizer, cfg.prompt_format)
        self.stamp = source_stamp(self.name)
        self._model = None

    @property
    def model(self):
        """The model in this process, loaded on first use (workers load their own)."""
        if self._model is None:
            from isara.lm.models import open_weights

            self._model = open_weights(self.name, self.device, self.dtype)
        return self._model

    @property
    def device(self):
        from isara.devices import resolve_device

        return resolve_device(self.cfg.device)

    @property
    def dtype(self):
        """The dtype this engine generates in (`model.dtype: auto` may give bfloat16 on a CPU)."""
        from isara.devices import resolve_dtype

        return resolve_dtype(self.cfg.dtype, self.device, cpu_bf16=True)

    def generate(self, prompts: Sequence[str], decoding: Decoding, ids: Sequence[str] | None = None,
                 log_dir: str | Path | None = None, desc: str = "generate") -> list[Completion]:
        """Completions of `prompts` in order; `ids` name the samples (seeds and logs use them)."""
        if not prompts:
            return []
        if self.backend.name == "vllm" and decoding.num_beams == 1 and decoding.no_repeat_ngram_size == 0:
            from isara.lm.vllm_engine import generate_vllm

            return generate_vllm(self.name, self.cfg, self.tokenizer, self.fmt, prompts, decoding, ids,
                                 self.backend.tensor_parallel, desc)
        tag = {"model": self.stamp, "dtype": str(self.dtype), "device": self.device.type}
        work = plan_work(self.tokenizer, self.fmt, prompts, decoding, self.batching, ids, tag)
        if self.batching.workers == 1:
            return run_work(self.model, self.tokenizer, work, log_dir, desc)
        return self._sharded(work, log_dir, desc)

    def _sharded(self, work: Work, log_dir, desc: str) -> list[Completion]:
        import torch.multiprocessing as mp

        with tempfile.TemporaryDirectory(prefix="isara-workers-") as scratch:
            folder = str(log_dir) if log_dir is not None else scratch
            resuming(desc, len(PartialLog(folder, work.key).done(work.sizes())), len(work.batches))
            workers = self.batching.workers
            try:
                mp.start_processes(_worker, args=(self.name, self.cfg, work, workers, folder, desc),
                                   nprocs=workers, start_method="spawn", join=True)
            except mp.ProcessRaisedException as err:  # the worker's traceback as text: keep its last line
                raise IsaraError(f"{desc}: a worker failed: {str(err).strip().splitlines()[-1]}") from None
            done = PartialLog(folder, work.key).done(work.sizes())
        missing = [b for b in range(len(work.batches)) if b not in done]
        if missing:
            raise IsaraError(f"{desc}: the workers left {len(missing)} batches unfinished")
        return assemble(work, done)


def batching_of(section) -> Batching:
    """The batching a params.yaml section (`generation:` or `evaluate:`) sets."""
    return Batching(section.batch_size, section.max_batch_tokens, section.workers, section.prefill_tokens)


def generation_engine(name: str | Path, p) -> Engine:
    """The engine of the loop's generate stages (params.yaml `generation:`)."""
    g = p.generation
    return Engine(name, p.model, batching_of(g), Backend(g.backend, g.tensor_parallel))


def evaluation_engine(name: str | Path, p) -> Engine:
    """The engine of the evaluate stages (params.yaml `evaluate:`, backend from `generation:`)."""
    g = p.generation
    return Engine(name, p.model, batching_of(p.evaluate), Backend(g.backend, g.tensor_parallel))
