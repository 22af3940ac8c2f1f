"""The training set of a round: D0 plus every accepted generated sample, D0 weighted by gamma.

    python stages/mix.py --seed work/iter0/pool.jsonl --pool work/iter1/pool.jsonl \
        --out work/iter1/train.jsonl

See isara/mixing.py for the exact definition of the weights.
"""

import click

from isara.files import write_jsonl
from isara.mixing import mix
from isara.stage import entry, params, read_pool


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0 (the round-0 pool)")
@click.option("--pool", required=True, help="pool after this round's filter")
@click.option("--out", required=True, help="weighted training rows, JSONL")
@entry
def main(seed_pool, pool, out):
    p = params()
    seed_rows = read_pool(seed_pool)
    seed_ids = {row["id"] for row in seed_rows}
    generated = [row for row in read_pool(pool) if row["id"] not in seed_ids]
    rows = mix(seed_rows, generated, p.gamma)
    write_jsonl(out, rows)
    click.echo(f"mix: {len(seed_rows)} seed + {len(generated)} generated, gamma={p.gamma} -> {len(rows)} rows")


if __name__ == "__main__":
    main()
