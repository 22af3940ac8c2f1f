"""The ISARA loop, one module per DVC stage of the same name: seed, base, embed, retrieve,
generate, filter, mix, finetune (and the model card finetune writes)."""
