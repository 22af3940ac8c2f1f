"""Supervised fine-tuning on a weighted mix: answer-only loss, EOS trained, one layout everywhere.

An example is tokenised as ``prompt_ids + answer_ids + [eos]`` where the prompt is
`isara.lm.prompts.sft_prompt` (the same text evaluation and ICL answering end with). Labels are -100 on
the prompt, so only the answer and its EOS carry loss; training EOS is what makes a tuned model
stop. Each example's loss is the mean over its answer tokens, scaled by its mix weight
(`isara.loop.mix`), averaged over the batch.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from transformers import Trainer

from isara.config.schema import Finetune
from isara.lm.prompts import PromptFormat, sft_prompt
from isara.lm.tokens import pair_ids
from isara.lm.trainer import training_args

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


def weighted_loss(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of (weight x mean token cross-entropy over each example's answer)."""
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    tokens = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE, reduction="none")
    counted = (labels != IGNORE).sum(dim=1).clamp(min=1)
    per_example = tokens.sum(dim=1) / counted
    return (per_example * weight.to(per_example.device)).mean()


class WeightedTrainer(Trainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weight = inputs.pop("weight")
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = weighted_loss(outputs.logits, labels, weight)
        return (loss, outputs) if return_outputs else loss


def _with_lora(model, cfg: Finetune):
    from peft import LoraConfig, get_peft_model

    if cfg.gradient_checkpointing:
        model.enable_input_require_grads()  # frozen embeddings would cut the checkpointed graph
    config = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def finetune(model, tokenizer, fmt: PromptFormat, rows: Sequence[dict], cfg: Finetune, seed: int):
    """Train `model` on weighted rows ({"question", "answer", "weight"}); return (model, stats).

    With LoRA, the adapters are merged so that the result saves and loads as a plain checkpoint.
    """
    features = [
        {**encode_example(fmt, tokenizer, r["question"], r["answer"], cfg.max_length), "weight": r["weight"]}
        for r in rows
    ]
    device = model.device
    if cfg.method == "lora":
        model = _with_lora(model, cfg)
    model.train()
    with tempfile.TemporaryDirectory(prefix="isara-trainer-") as scratch:
        args = training_args(
            scratch, device, batch_size=cfg.batch_size, epochs=cfg.epochs, learning_rate=cfg.learning_rate,
            weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio, seed=seed,
            logging_steps=max(1, len(features) // (cfg.batch_size * 4)),
            gradient_accumulation_steps=cfg.grad_accum,
            gradient_checkpointing=cfg.gradient_checkpointing,
            bf16=model.dtype == torch.bfloat16,
            fp16=model.dtype == torch.float16,
        )
        trainer = WeightedTrainer(
            model=model,
            args=args,
            train_dataset=features,
            data_collator=WeightedCollator(tokenizer.pad_token_id),
        )
        result = trainer.train()
        history = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    if cfg.method == "lora":
        model = model.merge_and_unload()
    model.eval()
    stats = {
        "train_loss": result.training_loss,
        "first_logged_loss": history[0] if history else None,
        "last_logged_loss": history[-1] if history else None,
        "steps": result.global_step,
        "examples": len(features),
    }
    return model, stats
