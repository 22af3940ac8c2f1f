"""A run's training set: D0 plus every accepted generated sample, D0 weighted by gamma (per label with
mix.by_label), and the general pairs where mix.general_size draws some.

    python stages/mix.py --seed work/iter0/pool.jsonl --pool work/iter1/pool.jsonl \
        --general work/iter0/general.json --out work/iter1/train.jsonl --metrics metrics/methods/iter1/data.json

See isara/loop/mix.py for the exact definition of the weights. The metrics are the run's data
scaling: |D0 + accepted| / |D0|.
"""

import click

from isara.atomic import write_json, write_jsonl
from isara.config import load_params
from isara.loop.mix import data_metrics, generated_rows, mix
from isara.records import read_general, read_pool
from isara.stage import entry


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0 (the round-0 pool)")
@click.option("--pool", required=True, help="pool after the run's filter (D0 for sft_seed)")
@click.option("--general", required=True, help="general instruction pairs (stage general), JSON")
@click.option("--out", required=True, help="weighted training rows, JSONL")
@click.option("--metrics", required=True, help="data-scaling metrics, JSON")
@entry
def main(seed_pool, pool, general, out, metrics):
    p = load_params()
    seed_rows, pool_rows = read_pool(seed_pool), read_pool(pool)
    generated = generated_rows(seed_rows, pool_rows)
    general_rows = read_general(general)
    rows = mix(seed_rows, generated, p.gamma, by_label=p.mix.by_label, safe_share=p.mix.safe_share,
               max_generated_ratio=p.mix.max_generated_ratio, general_rows=general_rows,
               general_share=p.mix.general_share)
    write_jsonl(out, rows)
    write_json(metrics, data_metrics(len(seed_rows), len(pool_rows)))
    click.echo(f"mix: {len(seed_rows)} seed + {len(generated)} generated, gamma={p.gamma}"
               f"{f' by label (safe {p.mix.safe_share})' if p.mix.by_label else ''}"
               f"{f' + {len(general_rows)} general ({p.mix.general_share})' if general_rows else ''} -> {len(rows)} rows")


if __name__ == "__main__":
    main()
