"""Supervised fine-tuning on a run's weighted mix (full or LoRA, from the base or the previous model).

    python stages/finetune.py --name iter1 --stage finetune@iter1 --train work/iter1/train.jsonl \
        --base models/iter0 --previous models/iter0 --out models/iter1 --metrics metrics/iter1/train.json

The model folder gets a model card (README.md) beside the weights.
"""

import click

from isara.atomic import atomic_dir, write_json
from isara.config import load_params
from isara.lm.models import load_configured
from isara.loop.finetune import finetune
from isara.loop.model_card import model_card, training_data
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
@entry
def main(name, stage, train, base, previous, out, metrics):
    p = load_params()
    rows = read_jsonl(train, required=("question", "answer"))
    start = previous if p.finetune.init_from == "previous" else base
    model, tokenizer, fmt = load_configured(start, p.model)
    model, stats = finetune(model, tokenizer, fmt, rows, p.finetune, p.seed)
    card = model_card(name, stage, start, p, {"train_file": train, **training_data(rows)}, stats,
                      [f"metrics/{name}/<suite>.json"])
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(card)
    write_json(metrics, {"init_from": start, "method": p.finetune.method, **stats})
    click.echo(f"fine-tuned {start} on {len(rows)} rows ({p.finetune.method}) -> {out}")


if __name__ == "__main__":
    main()
