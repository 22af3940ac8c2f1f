"""Measure the prompt judge: the label vote of D0's labelled questions on the labelled dev prompts.

    python stages/label_judge.py --seed work/iter0/pool.jsonl --out judges/prompt_label \
        --metrics metrics/judges/prompt_label.json

The vote (isara/labels.py, generation.label_k neighbours, generation.harmful_at) labels every generated question for
label-consistent curation; its accuracy against the dev prompts' human labels is reported beside
the filter's reasons, as every judge's measured error is. Without a dev file or a labelled D0 the
check says so (`n` 0).
"""

import click

from isara import datasets
from isara.atomic import atomic_dir, write_json
from isara.config import load_params
from isara.devices import resolve_device
from isara.embedder import encoder
from isara.judges.prompt_label import MEASURED_ON, check_prompt_judge
from isara.labels import vote
from isara.loop.retrieve import pool_labels
from isara.records import read_pool
from isara.retrieval import unit_rows
from isara.stage import entry


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0, whose labels vote")
@click.option("--out", required=True, help="judge folder: check.json")
@click.option("--metrics", required=True, help="the same check, beside the other metrics files")
@entry
def main(seed_pool, out, metrics):
    p = load_params()
    seed = read_pool(seed_pool)
    labels = pool_labels(seed)
    dev = datasets.labelled_prompts(p.data.dev_file) if p.data.dev_file else []
    if labels is None or not dev:
        result = {"judge": "prompt_label", "measured_on": MEASURED_ON, "n": 0}
    else:
        encode = encoder(p.embedder.name, resolve_device(p.model.device), p.embedder.batch_size)
        seed_vectors = unit_rows(encode([row["question"] for row in seed]), seed_pool)
        dev_vectors = unit_rows(encode([row["prompt"] for row in dev]), p.data.dev_file)
        g = p.generation
        voted = [label for label, _ in vote(dev_vectors, seed_vectors, labels, g.label_k, g.harmful_at)]
        result = check_prompt_judge([row["label"] for row in dev], voted, g.label_k, g.harmful_at)
    with atomic_dir(out) as folder:
        write_json(f"{folder}/check.json", result)
    write_json(metrics, result)
    click.echo(f"prompt judge: accuracy {result.get('accuracy', 'not measured')} on {result['n']} dev prompts")


if __name__ == "__main__":
    main()
