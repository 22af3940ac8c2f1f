"""The preference step of a round (finetune.objective: sft+dpo): DPO with TRL's DPOTrainer on the
round's own contrast pairs (isara.loop.preferences), starting from the round's SFT model, which is
also the reference: its log-probabilities of every chosen and rejected answer are computed once
before training (`precompute_ref_log_probs`), so no second copy of the model is kept in memory.

The prompt is the SFT prompt (`isara.lm.prompts.sft_prompt`) and each answer is followed by EOS, as
in SFT. With LoRA the SFT adapter is merged first and a fresh adapter learns the preference step, so
that the adapter-free model TRL uses as the reference is the SFT model. Checkpoints go to their own
scratch folder and resume as SFT's do (`isara.train.checkpoints`); the Trainer settings are SFT's
(`isara.train.arguments`) with DPO's beta, learning rate and epochs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Sequence

from isara.config.training import Finetune
from isara.lm.prompts import PromptFormat, answer_target, sft_prompt
from isara.train.arguments import finetune_settings, training_args
from isara.train.checkpoints import last_checkpoint, prepare_scratch
from isara.train.curves import DPO_CURVES
from isara.train.sft import Trained, prepare_model



def dpo_rows(fmt: PromptFormat, pairs: Sequence[dict]) -> list[dict]:
    """TRL's standard preference format: the SFT prompt, and the chosen and rejected answers as the
    text that follows it (TRL appends EOS)."""
    return [{"prompt": sft_prompt(fmt, pair["question"]), "chosen": answer_target(fmt, pair["chosen"]),
             "rejected": answer_target(fmt, pair["rejected"])} for pair in pairs]


def dpo_fingerprint(sft_fingerprint: str, pairs: Sequence[dict]) -> str:
    """What a DPO checkpoint must have been trained for: the SFT run it starts from and the pairs."""
    text = json.dumps({"sft": sft_fingerprint, "pairs": list(pairs)}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dpo(model, tokenizer, fmt: PromptFormat, pairs: Sequence[dict], cfg: Finetune, seed: int, scratch: Path,
        fingerprint: str, autocast: tuple[bool, bool] = (False, False)) -> Trained:
    """DPO on `pairs` ({"question", "chosen", "rejected"}) from `model` (the SFT model, also the
    reference), checkpointing into `scratch`; the statistics land under "dpo"."""
    from accelerate import PartialState
    from datasets import Dataset, load_from_disk
    from peft import PeftModel
    from transformers import set_seed
    from trl import DPOConfig, DPOTrainer

    set_seed(seed)
    if isinstance(model, PeftModel):
        model = model.merge_and_unload()  # the SFT model, adapter-free: TRL's reference for a PEFT model
    model = prepare_model(model, cfg)
    bf16, fp16 = autocast
    args = training_args(
        str(scratch), model.device, batch_size=cfg.batch_size, epochs=cfg.dpo.epochs,
        learning_rate=cfg.dpo.learning_rate, weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
        seed=seed, logging_steps=1, config_class=DPOConfig,
        beta=cfg.dpo.beta, precompute_ref_log_probs=True, max_length=cfg.max_length,
        bf16=bf16, fp16=fp16, **finetune_settings(cfg),
    )
    state = PartialState()
    prepare_scratch(scratch, fingerprint, state.is_main_process, state.wait_for_everyone)
    folder = scratch / "pairs"  # on disk, so that every process finds the reference log-probs TRL caches beside it
    if state.is_main_process:
        shutil.rmtree(folder, ignore_errors=True)
        Dataset.from_list(dpo_rows(fmt, pairs)).save_to_disk(str(folder))
    state.wait_for_everyone()
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=load_from_disk(str(folder)),
                         processing_class=tokenizer)
    checkpoint = last_checkpoint(scratch)
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if isinstance(trainer.model, PeftModel):
        trainer.model = trainer.model.merge_and_unload()  # saved whole: its base lives only in memory
    logged = [entry for entry in trainer.state.log_history if "loss" in entry and "train_loss" not in entry]
    stats = {"pairs": len(pairs), "steps": result.global_step, "beta": cfg.dpo.beta,
             **{f"first_{key.replace('/', '_')}": logged[0].get(key) if logged else None for key in DPO_CURVES},
             **{f"last_{key.replace('/', '_')}": logged[-1].get(key) if logged else None for key in DPO_CURVES}}
    return Trained(trainer, {"dpo": stats}, int(checkpoint.name.split("-")[1]) if checkpoint else 0)
