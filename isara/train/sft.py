"""Supervised fine-tuning on a weighted mix: answer-only loss, EOS trained, one layout everywhere.

An example is tokenised as ``prompt_ids + answer_ids + [eos]`` where the prompt is
`isara.lm.prompts.sft_prompt` (the same text evaluation and ICL answering end with). Labels are -100 on
the prompt, so only the answer and its EOS carry loss; training EOS is what makes a tuned model
stop. Each example's loss is the mean over its answer tokens, scaled by its mix weight
(`isara.loop.mix`), averaged over the examples of one optimizer step: with gradient accumulation
and several processes, the loss and its gradients are those of one batch of
batch_size x grad_accum x processes examples (`WeightedTrainer` tells Trainer the loss is already
scaled so; DDP averages the gradients over the processes).

Precision: full fine-tuning keeps float32 master weights and optimizer state and runs the forward
pass under bf16 (or fp16, with a loss scaler) autocast when model.dtype asks for it; LoRA loads the
base in model.dtype and keeps its adapters in float32. Training checkpoints every
finetune.save_steps steps into a scratch folder beside the output, keeping the newest
finetune.keep_checkpoints, and resumes from the newest one that verifies (`isara.train.checkpoints`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from transformers import Trainer

from isara.config.training import Finetune
from isara.errors import IsaraError
from isara.train.checkpoints import last_checkpoint, prepare_scratch
from isara.lm.prompts import PromptFormat, sft_prompt
from isara.lm.tokens import pair_ids
from isara.train.arguments import finetune_settings, training_args

IGNORE = -100


def encode_example(fmt: PromptFormat, tokenizer, question: str, answer: str, max_length: int) -> dict:
    """input_ids and labels for one pair; the prompt is kept whole, the answer cut to fit."""
    ids, n_prompt = pair_ids(tokenizer, fmt, sft_prompt(fmt, question), answer, eos=True, max_length=max_length)
    return {"input_ids": ids, "labels": [IGNORE] * n_prompt + ids[n_prompt:]}


@dataclass
class WeightedCollator:
    """Right-pads a batch; padding carries no loss and no attention."""

    pad_token_id: int

    def __call__(self, features: Sequence[dict]) -> dict:
        width = max(len(f["input_ids"]) for f in features)
        batch = {"input_ids": [], "labels": [], "attention_mask": []}
        for f in features:
            gap = width - len(f["input_ids"])
            batch["input_ids"].append(f["input_ids"] + [self.pad_token_id] * gap)
            batch["labels"].append(f["labels"] + [IGNORE] * gap)
            batch["attention_mask"].append([1] * len(f["input_ids"]) + [0] * gap)
        tensors = {key: torch.tensor(value) for key, value in batch.items()}
        tensors["weight"] = torch.tensor([float(f["weight"]) for f in features])
        return tensors


def example_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each example's mean token cross-entropy over its answer (labels not IGNORE)."""
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    tokens = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE, reduction="none")
    counted = (labels != IGNORE).sum(dim=1).clamp(min=1)
    return tokens.sum(dim=1) / counted


def weighted_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor,
                  examples: int | torch.Tensor | None = None) -> torch.Tensor:
    """Sum over the batch of (weight x mean token cross-entropy over each example's answer), divided
    by `examples`: the examples of the whole optimizer step (default: this batch's, the mean)."""
    per_example = example_losses(logits, labels)
    total = (per_example * weight.to(per_example.device)).sum()
    return total / (len(per_example) if examples is None else examples)


class WeightedTrainer(Trainer):
    """Trainer with the weighted loss, normalised by the examples of the whole optimizer step."""

    loss_is_scaled_for_ga = True  # divided by the step's examples already: no division by grad_accum

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device) -> torch.Tensor:
        """Examples (not tokens) in the accumulated batches, over every process."""
        count = torch.tensor(sum(len(batch["weight"]) for batch in batch_samples), device=device)
        if self.args.world_size > 1:
            count = self.accelerator.gather(count).sum()
        return count

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weight = inputs.pop("weight")
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = weighted_loss(outputs.logits, labels, weight, num_items_in_batch)
        if num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # DDP averages the processes' gradients
        return (loss, outputs) if return_outputs else loss


def train_precision(method: str, dtype: torch.dtype, device: torch.device) -> tuple[torch.dtype, bool, bool]:
    """(dtype the weights load in, bf16 autocast, fp16 autocast) for training in `dtype`."""
    if dtype == torch.float16 and device.type != "cuda":
        raise IsaraError("model.dtype float16 trains only on a CUDA device (it needs a loss scaler): "
                         "use bfloat16 or float32")
    load = dtype if method == "lora" else torch.float32  # full: float32 master weights
    return load, dtype == torch.bfloat16, dtype == torch.float16


def check_optimizer(cfg: Finetune) -> None:
    """One clear line when the optimizer's library is missing, before any weight is loaded."""
    import importlib.util

    if cfg.optimizer.endswith("8bit") and importlib.util.find_spec("bitsandbytes") is None:
        raise IsaraError(f"finetune.optimizer {cfg.optimizer} needs bitsandbytes: pip install \"isara[gpu]\"")


def _with_lora(model, cfg: Finetune):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)  # adapters in float32 whatever the base's dtype


def prepare_model(model, cfg: Finetune):
    """`model` ready to train: a fresh LoRA adapter for `lora` unless it carries one already."""
    from peft import PeftModel

    if cfg.method == "lora" and not isinstance(model, PeftModel):
        model = _with_lora(model, cfg)
    if cfg.method == "lora" and cfg.gradient_checkpointing:
        model.enable_input_require_grads()  # frozen embeddings would cut the checkpointed graph
    model.train()
    return model


def run_fingerprint(rows: Sequence[dict], cfg: Finetune, seed: int, start_stamp, dtype: torch.dtype,
                    processes: int) -> str:
    """What a checkpoint must have been trained for to be resumed: the data, the settings, the start."""
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("save_steps", "keep_checkpoints", "check_memory")}
    text = json.dumps({"rows": list(rows), "finetune": settings, "seed": seed, "start": start_stamp,
                       "dtype": str(dtype), "processes": processes}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Trained:
    trainer: Trainer
    stats: dict
    resumed_from: int  # the step training resumed at (0: from the start)

    @property
    def is_main(self) -> bool:
        return self.trainer.is_world_process_zero()


def finetune(model, tokenizer, fmt: PromptFormat, rows: Sequence[dict], cfg: Finetune, seed: int,
             scratch: Path, fingerprint: str, autocast: tuple[bool, bool] = (False, False)) -> Trained:
    """Train `model` on weighted rows ({"question", "answer", "weight"}), checkpointing into
    `scratch` and resuming from its last complete checkpoint when `fingerprint` matches."""
    features = [
        {**encode_example(fmt, tokenizer, r["question"], r["answer"], cfg.max_length), "weight": r["weight"]}
        for r in rows
    ]
    device = model.device
    from transformers import set_seed

    set_seed(seed)  # a fresh adapter's initial weights are drawn here: the same every run
    model = prepare_model(model, cfg)
    bf16, fp16 = autocast
    args = training_args(
        str(scratch), device, batch_size=cfg.batch_size, epochs=cfg.epochs, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio, seed=seed,
        logging_steps=1,  # per-step curves
        bf16=bf16, fp16=fp16, **finetune_settings(cfg),
    )
    trainer = WeightedTrainer(model=model, args=args, train_dataset=features,
                              data_collator=WeightedCollator(tokenizer.pad_token_id))
    prepare_scratch(scratch, fingerprint, trainer.is_world_process_zero(), trainer.accelerator.wait_for_everyone)
    checkpoint = last_checkpoint(scratch)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    # every step is logged (the mean over the processes): a resumed run's history holds every step too
    history = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    stats = {
        "train_loss": sum(history) / len(history) if history else result.training_loss,
        "first_logged_loss": history[0] if history else None,
        "last_logged_loss": history[-1] if history else None,
        "steps": result.global_step,
        "examples": len(features),
    }
    return Trained(trainer, stats, int(checkpoint.name.split("-")[1]) if checkpoint else 0)


def save_trained(trained: Trained, scratch: Path, cfg: Finetune, load_dtype: torch.dtype) -> Path | None:
    """Write the trained weights into `scratch`/final (every process joins: FSDP and ZeRO-3 gather
    the shards); on the main process return that folder: the full model, the adapter, or with
    LoRA and `save: merged` the base with the adapter merged in."""
    final = scratch / "final"
    trained.trainer.save_model(str(final))
    trained.trainer.accelerator.wait_for_everyone()
    if not trained.is_main:
        return None
    (final / "training_args.bin").unlink(missing_ok=True)  # a pickle, and nothing loads it
    (final / "README.md").unlink(missing_ok=True)  # the stage writes the card
    if cfg.method == "lora" and cfg.save == "merged":
        from isara.lm.models import open_weights

        merged = open_weights(str(final), torch.device("cpu"), load_dtype)
        shutil.rmtree(final)
        merged.save_pretrained(final)
    return final
