"""Keep the new pairs that are well-formed and new enough; record every rejection with its reason.

    python stages/filter.py --pool work/iter0/pool.jsonl --candidates work/iter1/candidates.jsonl \
        --accepted work/iter1/accepted.jsonl --rejected work/iter1/rejected.jsonl \
        --pool-out work/iter1/pool.jsonl
"""

from collections import Counter
from dataclasses import asdict

import click

from isara.files import read_jsonl, write_jsonl
from isara.filtering import filter_candidates
from isara.stage import entry, params, read_pool


@click.command()
@click.option("--pool", required=True, help="pool before this round")
@click.option("--candidates", required=True)
@click.option("--accepted", required=True, help="accepted candidates with verdicts, JSONL")
@click.option("--rejected", required=True, help="rejected candidates with reasons and scores, JSONL")
@click.option("--pool-out", required=True, help="pool after this round: before + accepted")
@entry
def main(pool, candidates, accepted, rejected, pool_out):
    p = params()
    rows = read_pool(pool)
    cands = read_jsonl(candidates, required=("id",))
    verdicts = filter_candidates(cands, rows, p.filter, p.rouge_threshold)
    judged = [{**row, "verdict": asdict(v)} for row, v in zip(cands, verdicts)]
    kept = [row for row in judged if row["verdict"]["accepted"]]
    write_jsonl(accepted, kept)
    write_jsonl(rejected, [row for row in judged if not row["verdict"]["accepted"]])
    grown = rows + [
        {"id": row["id"], "question": row["question"], "answer": row["answer"], "source": "generated"}
        for row in kept
    ]
    write_jsonl(pool_out, grown)
    reasons = Counter(v.reason for v in verdicts)
    click.echo(f"accepted {len(kept)} of {len(cands)} ({dict(reasons)}); pool {len(rows)} -> {len(grown)}")


if __name__ == "__main__":
    main()
