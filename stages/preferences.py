"""A round's preference pairs for the DPO step (finetune.objective: sft+dpo), from its own candidates.

    python stages/preferences.py --seed work/iter0/pool.jsonl --candidates work/iter1/candidates.jsonl \
        --accepted work/iter1/accepted.jsonl --rejected work/iter1/rejected.jsonl \
        --embeddings work/iter1/candidate_embeddings.npz --out work/iter1/preferences.jsonl \
        --metrics metrics/methods/iter1/preferences.json

Each pair contrasts declining with answering on one generated question (isara/loop/preferences.py);
the nearest harmful D0 seed comes from the embeddings stage audit wrote. The stage runs whatever the
objective (it is cheap), so that switching the objective re-trains without re-generating. A D0 whose
pairs carry no label (a domain's own seeds) has no pairs to make: empty files, nothing measured.
"""

from pathlib import Path

import click

from isara.atomic import write_json, write_jsonl
from isara.errors import IsaraError
from isara.labels import HARMFUL
from isara.loop.audit import load_audit_embeddings
from isara.loop.preferences import nearest_of_label, pair_counts, preference_pairs
from isara.records import read_jsonl, read_pool, read_rows
from isara.retrieval import unit_rows
from isara.stage import entry


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0, whose harmful seeds give the declining answers")
@click.option("--candidates", required=True, help="the round's generated pairs")
@click.option("--accepted", required=True, help="stage filter's accepted rows, with verdicts")
@click.option("--rejected", required=True, help="stage filter's rejected rows, with reasons")
@click.option("--embeddings", required=True, help="stage audit's .npz of candidate and D0 embeddings")
@click.option("--out", required=True, help="preference pairs, JSONL")
@click.option("--metrics", required=True, help="the pairs per kind (JSON)")
@entry
def main(seed_pool, candidates, accepted, rejected, embeddings, out, metrics):
    seed = read_pool(seed_pool)
    cands = read_jsonl(candidates, required=("id", "question", "answer"))
    verdicts = {}
    for path in (Path(accepted), Path(rejected)):  # either may be empty: a round can accept or reject all
        for row in read_rows(path):
            if not (isinstance(row, dict) and isinstance(row.get("id"), str) and isinstance(row.get("verdict"), dict)):
                raise IsaraError(f"{path}: a row without candidate id and filter verdict (run stage filter again)")
            verdicts[row["id"]] = row["verdict"]
    if not any(row.get("label") for row in seed):  # a domain's own seeds: no kind of question to contrast
        write_jsonl(out, [])
        write_json(metrics, {})
        click.echo(f"D0 carries no harmful/safe labels: no preference pairs (placeholder) -> {out}")
        return
    vectors, seed_vectors, _ = load_audit_embeddings(embeddings, len(cands))
    nearest = nearest_of_label(unit_rows(vectors, embeddings), unit_rows(seed_vectors, embeddings),
                               [row.get("label") for row in seed], HARMFUL)
    pairs = preference_pairs(cands, verdicts, seed, nearest)
    write_jsonl(out, pairs)
    write_json(metrics, {"pairs": len(pairs), **pair_counts(pairs), "candidates": len(cands)})
    counts = ", ".join(f"{kind} {n}" for kind, n in pair_counts(pairs).items())
    click.echo(f"preference pairs: {len(pairs)} ({counts}) -> {out}")


if __name__ == "__main__":
    main()
