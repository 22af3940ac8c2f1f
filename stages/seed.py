"""Draw D0: `seed_size` pairs sampled reproducibly (by `seed`) from the seed source.

    python stages/seed.py --out work/iter0/pool.jsonl --metrics metrics/methods/iter0/data.json

data.seed_source picks the source: the authored data.seed_file, or a real dataset read from
benchmarks.source (isara/loop/seed.py).
"""

import click

from isara.atomic import write_json, write_jsonl
from isara.config import load_params
from isara.loop.mix import data_metrics
from isara.loop.seed import draw_seed, seed_candidates
from isara.stage import entry


@click.command()
@click.option("--out", required=True, help="pool of round 0 (= D0), JSONL")
@click.option("--metrics", required=True, help="D0's size as data metrics (scaling ratio 1), JSON")
@entry
def main(out, metrics):
    p = load_params()
    rows, where = seed_candidates(p)
    picked = draw_seed(rows, p.seed_size, p.seed, where, p.finetune.max_length, p.data.safe_share)
    write_jsonl(out, picked)
    write_json(metrics, data_metrics(len(picked), len(picked)))
    click.echo(f"D0: {len(picked)} of {len(rows)} pairs from {where} -> {out}")


if __name__ == "__main__":
    main()
