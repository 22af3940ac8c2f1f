"""Measure each generated question against the evaluation prompts (contamination) and D0 (domain).

    python stages/audit.py --seed work/iter0/pool.jsonl --candidates work/iter1/candidates.jsonl \
        --out work/iter1/audit.jsonl --embeddings work/iter1/candidate_embeddings.npz

The evaluation prompts are those of every suite of evaluate.suites (the harm sets and the safe
prompts, XSTest, TruthfulQA, AlpacaEval); the filter drops what comes too close to them. With
filter.judges, each of those harm judges scores every generated pair too (the filter's veto). The
embeddings of the candidates and of D0 go to --embeddings, for the round's diversity numbers.
"""

from pathlib import Path

import click
import numpy as np

from isara.atomic import atomic_file, write_jsonl
from isara.config import load_params
from isara.devices import resolve_device
from isara.embedder import encoder
from isara.eval.inputs import evaluation_prompts
from isara.loop.audit import audit_rows
from isara.loop.filter import is_contaminated
from isara.records import read_jsonl, read_pool
from isara.stage import entry


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0")
@click.option("--candidates", required=True, help="generated pairs, JSONL")
@click.option("--out", required=True, help="one audit row per candidate, JSONL")
@click.option("--embeddings", required=True, help=".npz of the candidates' and D0's question embeddings")
@entry
def main(seed_pool, candidates, out, embeddings):
    p = load_params()
    seed = read_pool(seed_pool)
    rows = read_jsonl(candidates, required=("id",))
    prompts = [(name, text) for name, text in evaluation_prompts(p) if text.strip()]
    encode = encoder(p.embedder.name, resolve_device(p.model.device), p.embedder.batch_size)
    questions = encode([row.get("question") or "" for row in rows])
    seed_vectors = encode([row["question"] for row in seed])
    audited = audit_rows(rows, questions, prompts, encode([text for _, text in prompts]), seed_vectors)
    if p.filter.judges:  # opt-in veto: each judge's harmful probability of every pair
        from isara.judges.registry import build_harm_judge

        pairs = [(row.get("question") or "", row.get("answer") or "") for row in rows]
        for name in p.filter.judges:
            judge = build_harm_judge(name, p, Path("judges"), resolve_device(p.model.device))
            for row, prob in zip(audited, judge.harmful_probs(pairs)):
                row.setdefault("judges", {})[name] = round(float(prob), 4)
    with atomic_file(embeddings) as tmp:
        with open(tmp, "wb") as handle:
            categories = [row.get("category") for row in seed]
            extra = {"seed_categories": np.array(categories)} if all(isinstance(c, str) for c in categories) else {}
            np.savez(handle, candidates=questions, seed=seed_vectors, **extra)
    write_jsonl(out, audited)
    close = sum(is_contaminated(row, p.filter) for row in audited)
    click.echo(f"audited {len(rows)} questions against {len(prompts)} evaluation prompts "
               f"({close} as close as filter.contamination_*) -> {out}")


if __name__ == "__main__":
    main()
