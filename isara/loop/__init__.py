"""The ISARA loop, one module per DVC stage of the same name: seed, base, embed, retrieve,
generate, filter, mix; the finetune stage's logic is isara.train.finetune."""
