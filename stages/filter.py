"""Keep the new pairs that are well-formed and new enough; record every rejection with its reason.

    python stages/filter.py --pool work/iter0/pool.jsonl --candidates work/iter1/candidates.jsonl \
        --accepted work/iter1/accepted.jsonl --rejected work/iter1/rejected.jsonl \
        --pool-out work/iter1/pool.jsonl
"""

from collections import Counter

import click

from isara.atomic import write_jsonl
from isara.config import load_params
from isara.loop.filter import apply_filter
from isara.records import read_jsonl, read_pool
from isara.stage import entry


@click.command()
@click.option("--pool", required=True, help="pool before this run")
@click.option("--candidates", required=True)
@click.option("--accepted", required=True, help="accepted candidates with verdicts, JSONL")
@click.option("--rejected", required=True, help="rejected candidates with reasons and scores, JSONL")
@click.option("--pool-out", required=True, help="pool after this run: before + accepted")
@entry
def main(pool, candidates, accepted, rejected, pool_out):
    p = load_params()
    rows = read_pool(pool)
    cands = read_jsonl(candidates, required=("id",))
    kept, dropped, grown = apply_filter(cands, rows, p.filter, p.rouge_threshold)
    write_jsonl(accepted, kept)
    write_jsonl(rejected, dropped)
    write_jsonl(pool_out, grown)
    reasons = Counter(row["verdict"]["reason"] for row in kept + dropped)
    click.echo(f"accepted {len(kept)} of {len(cands)} ({dict(reasons)}); pool {len(rows)} -> {len(grown)}")


if __name__ == "__main__":
    main()
