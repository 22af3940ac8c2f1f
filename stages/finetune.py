"""Supervised fine-tuning on a run's weighted mix (full or LoRA, from the base or the previous model).

    python stages/finetune.py --name iter1 --stage finetune@iter1 --train work/iter1/train.jsonl \
        --base models/iter0 --previous models/iter0 --out models/iter1 --metrics metrics/methods/iter1/train.json \
        --curves metrics/methods/iter1/training

With finetune.num_processes > 1 or finetune.accelerate_config the stage starts itself again under
`accelerate launch`; only the main process writes. The model folder gets a model card (README.md)
beside the weights (or beside the adapter, with finetune.save: adapter, whose adapter_config.json
names its base relative to the repository root: models/iter0); checkpoints go to OUT.checkpoints/
(and OUT-dpo.checkpoints/ for the preference step) and are removed once the model is written. With
the objective sft+dpo (the run's `objective`, else finetune.objective) and --preferences, DPO on the
run's pairs follows SFT.
"""

import click

from isara.config import load_params
from isara.records import read_jsonl
from isara.stage import entry
from isara.loop.preferences import PAIR_FIELDS
from isara.train.finetune import Outputs, train_model
from isara.train.launch import relaunch_if_needed, train_device


@click.command()
@click.option("--name", required=True, help="the model's name: a run (iter1, oneshot, ...) or sft_seed")
@click.option("--stage", required=True, help="the DVC stage that builds it (for the model card)")
@click.option("--train", required=True, help="weighted training rows from mix")
@click.option("--base", required=True, help="the base model folder")
@click.option("--previous", required=True, help="the model the run started from")
@click.option("--out", required=True, help="fine-tuned model folder to write")
@click.option("--metrics", required=True, help="training statistics JSON")
@click.option("--curves", required=True, help="dvclive folder of per-step training curves")
@click.option("--preferences", default=None, help="the run's preference pairs, for finetune.objective sft+dpo")
@entry
def main(name, stage, train, base, previous, out, metrics, curves, preferences):
    p = load_params()
    device = train_device(p.model.device)
    relaunch_if_needed(p.finetune, device.type == "cpu")
    rows = read_jsonl(train, required=("question", "answer"))
    objective = p.objective_of(name) if name in p.runs else p.finetune.objective
    pairs = read_jsonl(preferences, required=PAIR_FIELDS) if preferences and objective == "sft+dpo" else []
    done = train_model(p, name, stage, rows, train, base, previous, Outputs(out, metrics, curves), device, pairs)
    if done.written:
        resumed = f", resumed at step {done.resumed_from}" if done.resumed_from else ""
        click.echo(f"fine-tuned {done.start} on {done.rows} rows ({p.finetune.method}, {done.processes} process(es)"
                   f"{resumed}) -> {out}")


if __name__ == "__main__":
    main()
