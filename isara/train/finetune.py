"""One fine-tuned model, end to end: the finetune stage's logic (stages/finetune.py parses arguments).

Start from the base or the previous model (finetune.init_from), check the optimizer and the memory
estimate before any weight loads, train on the weighted rows (`isara.train.sft`) with checkpoints in
a scratch folder beside the output; with the objective sft+dpo (finetune.objective, or the run's
own `objective`) follow with DPO on the round's preference pairs (`isara.train.dpo`, its own
scratch folder). Write the model folder atomically with its tokenizer and model card (an adapter
names models/iter0, not the weights it leads to). Only the main process writes; the scratch
folders are removed once the model is in place.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Sequence

from isara.atomic import atomic_dir, write_json
from isara.config import Params
from isara.devices import resolve_dtype
from isara.lm.models import load_configured, source_stamp
from isara.lm.sources import name_base, trained_base
from isara.train.checkpoints import remove_scratch, scratch_dir
from isara.train.curves import write_curves
from isara.train.dpo import dpo, dpo_fingerprint
from isara.train.launch import world_size
from isara.train.memory import check_training_memory
from isara.train.model_card import model_card, training_data
from isara.train.sft import check_optimizer, finetune, run_fingerprint, save_trained, train_precision


@dataclass(frozen=True)
class Outputs:
    """Where one fine-tune writes: the model folder, its statistics and its dvclive curves."""
    model: str
    metrics: str
    curves: str


@dataclass(frozen=True)
class Result:
    start: str  # the model it started from
    rows: int
    processes: int
    resumed_from: int | None
    written: bool  # False in every process but the main one


def train_model(p: Params, name: str, stage: str, rows: Sequence[dict], train_file: str, base: str, previous: str,
                out: Outputs, device, pairs: Sequence[dict] = ()) -> Result:
    """Fine-tune NAME (built by DVC stage STAGE) on ROWS on DEVICE (`train_device`), then DPO on its
    preference PAIRS (none: SFT only; the caller passes them for the objective sft+dpo), and write
    its folder, metrics and curves."""
    cfg = p.finetune
    start = previous if cfg.init_from == "previous" else base
    dtype = resolve_dtype(p.model.dtype, device, cpu_bf16=True)  # float32 master weights, bf16 autocast
    load_dtype, bf16, fp16 = train_precision(cfg.method, dtype, device)
    check_optimizer(cfg)
    if cfg.check_memory:
        check_training_memory(start, cfg, dtype, device, world_size())
    model, tokenizer, fmt = load_configured(start, p.model, device=device, dtype=load_dtype,
                                            trainable_adapter=cfg.method == "lora")
    scratch = scratch_dir(out.model)
    fingerprint = run_fingerprint(rows, cfg, p.seed, source_stamp(start), dtype, world_size())
    sft = finetune(model, tokenizer, fmt, rows, cfg, p.seed, scratch, fingerprint, (bf16, fp16))
    preference_scratch, preferred = scratch_dir(f"{out.model}-dpo"), None
    if pairs:
        sft.trainer.optimizer = sft.trainer.lr_scheduler = None  # its moments are not needed again
        preferred = dpo(sft.trainer.model, tokenizer, fmt, pairs, cfg, p.seed, preference_scratch,
                        dpo_fingerprint(fingerprint, pairs), (bf16, fp16))
    final = save_trained(preferred or sft, preference_scratch if preferred else scratch, cfg, load_dtype)
    result = Result(start, len(rows), world_size(), (preferred or sft).resumed_from, final is not None)
    if final is None:
        return result  # not the main process: it writes nothing
    stats = {**sft.stats, **(preferred.stats if preferred else {})}
    card = model_card(name, stage, start, p, {"train_file": train_file, "objective": "sft+dpo" if preferred else "sft",
                                        **training_data(rows)}, stats,
                      [f"metrics/methods/{name}/<suite>.json"])
    with atomic_dir(out.model) as tmp:
        for path in final.iterdir():
            shutil.move(str(path), tmp / path.name)
        name_base(tmp, trained_base(start))
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(card)
    write_curves(out.curves, sft.trainer.state.log_history, preferred.trainer.state.log_history if preferred else ())
    write_json(out.metrics, {"init_from": start, "method": cfg.method, **stats})
    remove_scratch(scratch)
    remove_scratch(preference_scratch)
    return result
