"""The Hugging Face Trainer settings every isara fine-tune shares (SFT rounds, the cross-encoder
judge): a linear schedule with warmup, no checkpoints, no reporting, the columns left as built."""

from __future__ import annotations

import torch


def training_args(output_dir: str, device: torch.device, *, batch_size: int, epochs: float, learning_rate: float,
                  weight_decay: float, warmup_ratio: float, seed: int, logging_steps: int, **extra):
    """TrainingArguments with isara's shared settings; `extra` adds or overrides any of them."""
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
    return TrainingArguments(**{**settings, **extra})
