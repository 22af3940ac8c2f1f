"""Keep the new pairs that are well-formed, new enough and not evaluation prompts; record every
rejection with its reason, and what the round's accepted data looks like.

    python stages/filter.py --pool work/iter0/pool.jsonl --candidates work/iter1/candidates.jsonl \
        --audit work/iter1/audit.jsonl --embeddings work/iter1/candidate_embeddings.npz \
        --accepted work/iter1/accepted.jsonl --rejected work/iter1/rejected.jsonl \
        --pool-out work/iter1/pool.jsonl --metrics metrics/methods/iter1/filter.json
"""

import click

from isara.atomic import write_json, write_jsonl
from isara.config import load_params
from isara.errors import IsaraError
from isara.loop.audit import load_audit_embeddings
from isara.loop.filter import apply_filter
from isara.loop.filter_metrics import filter_metrics
from isara.records import read_jsonl, read_pool
from isara.stage import entry


@click.command()
@click.option("--pool", required=True, help="pool before this run")
@click.option("--candidates", required=True)
@click.option("--audit", "audit_path", required=True, help="stage audit's rows: contamination and domain")
@click.option("--embeddings", required=True, help="stage audit's .npz of candidate and D0 embeddings")
@click.option("--accepted", required=True, help="accepted candidates with verdicts, JSONL")
@click.option("--rejected", required=True, help="rejected candidates with reasons and scores, JSONL")
@click.option("--pool-out", required=True, help="pool after this run: before + accepted")
@click.option("--metrics", required=True, help="the round's filter counts and data diversity, JSON")
@entry
def main(pool, candidates, audit_path, embeddings, accepted, rejected, pool_out, metrics):
    p = load_params()
    rows = read_pool(pool)
    cands = read_jsonl(candidates, required=("id",))
    audit = {row["id"]: row for row in read_jsonl(audit_path, required=("id",))}
    if [row["id"] for row in cands] != list(audit):
        raise IsaraError(f"{audit_path}: not the audit of {candidates} (run stage audit again)")
    cands = [{**row, "audit": audit[row["id"]]} for row in cands]
    vectors, seed, categories = load_audit_embeddings(embeddings, len(cands))
    kept, dropped, grown = apply_filter(cands, rows, p.filter, p.rouge_threshold)
    order = {row["id"]: n for n, row in enumerate(cands)}
    judged = sorted(kept + dropped, key=lambda row: order[row["id"]])
    result = filter_metrics(judged, vectors, seed, categories, p.filter)
    write_jsonl(accepted, kept)
    write_jsonl(rejected, dropped)
    write_jsonl(pool_out, grown)
    write_json(metrics, result)
    click.echo(f"accepted {len(kept)} of {len(cands)} ({result['reasons']}); pool {len(rows)} -> {len(grown)}")


if __name__ == "__main__":
    main()
