"""The Hugging Face Trainer settings every isara fine-tune shares (SFT rounds, their DPO step, the
cross-encoder judge): a linear schedule with warmup, no checkpoints, no reporting, the columns left
as built."""

from __future__ import annotations

import torch

from isara.config.training import Finetune


def training_args(output_dir: str, device: torch.device, *, batch_size: int, epochs: float, learning_rate: float,
                  weight_decay: float, warmup_ratio: float, seed: int, logging_steps: int, config_class=None,
                  **extra):
    """TrainingArguments (or `config_class`, a subclass such as TRL's DPOConfig) with isara's shared
    settings; `extra` adds or overrides any of them."""
    from transformers import TrainingArguments

    settings = dict(
        output_dir=output_dir,
        per_device_train_batch_size=batch_size,
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        warmup_steps=warmup_ratio,  # a float below 1 is a share of the steps (transformers >= 5)
        lr_scheduler_type="linear",
        use_cpu=device.type == "cpu",
        logging_steps=logging_steps,
        save_strategy="no",
        report_to="none",
        remove_unused_columns=False,
        seed=seed,
        data_seed=seed,
    )
    return (config_class or TrainingArguments)(**{**settings, **extra})


def finetune_settings(cfg: Finetune) -> dict:
    """The settings an SFT round and its DPO step share, from finetune: accumulation, gradient
    checkpointing, optimizer and checkpoints."""
    return dict(
        gradient_accumulation_steps=cfg.grad_accum,
        **({"gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"use_reentrant": False}}
           if cfg.gradient_checkpointing else {}),  # non-reentrant: works under DDP
        optim={"adamw_8bit": "adamw_bnb_8bit"}.get(cfg.optimizer, cfg.optimizer),
        save_strategy="steps" if cfg.save_steps else "no", save_steps=cfg.save_steps or 500,
        save_total_limit=cfg.keep_checkpoints,  # 2: the last checkpoint and one to fall back to if it is damaged
        ddp_find_unused_parameters=False,
    )
