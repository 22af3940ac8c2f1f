"""Training: the finetune stage's logic (finetune: one model end to end), supervised fine-tuning on a
weighted mix (sft), the Trainer settings every fine-tune shares (arguments), how a stage starts its
processes (launch), resumable checkpoints, the memory estimate, the model card and the dvclive
curves."""
