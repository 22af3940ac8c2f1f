"""Supervised fine-tuning on the round's weighted mix (full or LoRA, from base or previous model).

    python stages/finetune.py --name iter1 --stage finetune@1 --train work/iter1/train.jsonl \
        --base models/iter0 --previous models/iter0 --out models/iter1 --metrics metrics/train/iter1.json

The model folder gets a model card (README.md) beside the weights.
"""

import click

from isara.cards import model_card, training_data
from isara.files import atomic_dir, read_jsonl, write_json
from isara.stage import entry, load_round_model, params
from isara.training import finetune


@click.command()
@click.option("--name", required=True, help="the method this model belongs to: iter1, sft_seed, oneshot, ...")
@click.option("--stage", required=True, help="the DVC stage that builds it (for the model card)")
@click.option("--train", required=True, help="weighted training rows from mix")
@click.option("--base", required=True, help="the base model folder")
@click.option("--previous", required=True, help="the previous round's model folder")
@click.option("--out", required=True, help="fine-tuned model folder to write")
@click.option("--metrics", required=True, help="training statistics JSON")
@entry
def main(name, stage, train, base, previous, out, metrics):
    p = params()
    rows = read_jsonl(train, required=("question", "answer"))
    start = previous if p.finetune.init_from == "previous" else base
    model, tokenizer, fmt = load_round_model(start, p)
    model, stats = finetune(model, tokenizer, fmt, rows, p.finetune, p.seed)
    card = model_card(name, stage, start, p, {"train_file": train, **training_data(rows)}, stats,
                      [f"metrics/{name}.json", f"metrics/{name}/<suite>.json"])
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(card)
    write_json(metrics, {"init_from": start, "method": p.finetune.method, **stats})
    click.echo(f"fine-tuned {start} on {len(rows)} rows ({p.finetune.method}) -> {out}")


if __name__ == "__main__":
    main()
