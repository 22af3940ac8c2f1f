"""Draw D0: `seed_size` pairs sampled reproducibly (by `seed`) from the seed source.

    python stages/seed.py --out work/iter0/pool.jsonl

data.seed_source picks the source: the authored data.seed_file, or a real dataset read from
benchmarks.source (see isara/seeds.py).
"""

import click

from isara.files import write_jsonl
from isara.seeds import draw_seed, seed_candidates
from isara.stage import entry, params


@click.command()
@click.option("--out", required=True, help="pool of round 0 (= D0), JSONL")
@entry
def main(out):
    p = params()
    rows, where = seed_candidates(p)
    picked = draw_seed(rows, p.seed_size, p.seed, where)
    write_jsonl(out, picked)
    click.echo(f"D0: {len(picked)} of {len(rows)} pairs from {where} -> {out}")


if __name__ == "__main__":
    main()
