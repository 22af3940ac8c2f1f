"""Supervised fine-tuning on a run's weighted mix (full or LoRA, from the base or the previous model).

    python stages/finetune.py --name iter1 --stage finetune@iter1 --train work/iter1/train.jsonl \
        --base models/iter0 --previous models/iter0 --out models/iter1 --metrics metrics/methods/iter1/train.json \
        --curves metrics/methods/iter1/training

With finetune.num_processes > 1 or finetune.accelerate_config the stage starts itself again under
`accelerate launch`; only the main process writes. The model folder gets a model card (README.md)
beside the weights (or beside the adapter, with finetune.save: adapter, whose adapter_config.json
names its base relative to the repository root: models/iter0); checkpoints go to OUT.checkpoints/
and are removed once the model is written.
"""

import shutil

import click

from isara.atomic import atomic_dir, write_json
from isara.config import load_params
from isara.devices import resolve_dtype
from isara.lm.checkpoints import remove_scratch, scratch_dir
from isara.lm.launch import relaunch_if_needed, train_device, world_size
from isara.lm.memory import check_training_memory
from isara.lm.models import load_configured, source_stamp
from isara.lm.sources import name_base, trained_base
from isara.loop.finetune import check_optimizer, finetune, run_fingerprint, save_trained, train_precision
from isara.loop.model_card import model_card, training_data
from isara.loop.training_curves import write_curves
from isara.records import read_jsonl
from isara.stage import entry


@click.command()
@click.option("--name", required=True, help="the model's name: a run (iter1, oneshot, ...) or sft_seed")
@click.option("--stage", required=True, help="the DVC stage that builds it (for the model card)")
@click.option("--train", required=True, help="weighted training rows from mix")
@click.option("--base", required=True, help="the base model folder")
@click.option("--previous", required=True, help="the model the run started from")
@click.option("--out", required=True, help="fine-tuned model folder to write")
@click.option("--metrics", required=True, help="training statistics JSON")
@click.option("--curves", required=True, help="dvclive folder of per-step training curves")
@entry
def main(name, stage, train, base, previous, out, metrics, curves):
    p = load_params()
    cfg = p.finetune
    device = train_device(p.model.device)
    relaunch_if_needed(cfg, device.type == "cpu")
    rows = read_jsonl(train, required=("question", "answer"))
    start = previous if cfg.init_from == "previous" else base
    dtype = resolve_dtype(p.model.dtype, device)
    load_dtype, bf16, fp16 = train_precision(cfg.method, dtype, device)
    check_optimizer(cfg)
    if cfg.check_memory:
        check_training_memory(start, cfg, dtype, device, world_size())
    model, tokenizer, fmt = load_configured(start, p.model, device=device, dtype=load_dtype,
                                            trainable_adapter=cfg.method == "lora")
    scratch = scratch_dir(out)
    fingerprint = run_fingerprint(rows, cfg, p.seed, source_stamp(start), dtype, world_size())
    trained = finetune(model, tokenizer, fmt, rows, cfg, p.seed, scratch, fingerprint, (bf16, fp16))
    final = save_trained(trained, scratch, cfg, load_dtype)
    if final is None:
        return  # not the main process: it writes nothing
    stats = trained.stats
    card = model_card(name, stage, start, p, {"train_file": train, **training_data(rows)}, stats,
                      [f"metrics/methods/{name}/<suite>.json"])
    with atomic_dir(out) as tmp:
        for path in final.iterdir():
            shutil.move(str(path), tmp / path.name)
        name_base(tmp, trained_base(start))  # an adapter names models/iter0, not the weights it leads to
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(card)
    write_curves(curves, trained.trainer.state.log_history)
    write_json(metrics, {"init_from": start, "method": cfg.method, **stats})
    remove_scratch(scratch)
    resumed = f", resumed at step {trained.resumed_from}" if trained.resumed_from else ""
    click.echo(f"fine-tuned {start} on {len(rows)} rows ({cfg.method}, {world_size()} process(es){resumed}) -> {out}")


if __name__ == "__main__":
    main()
