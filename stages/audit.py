"""Measure each generated question against the evaluation prompts (contamination) and D0 (domain).

    python stages/audit.py --seed work/iter0/pool.jsonl --candidates work/iter1/candidates.jsonl \
        --model models/iter0 --out work/iter1/audit.jsonl --embeddings work/iter1/candidate_embeddings.npz

The evaluation prompts are those of every suite of evaluate.suites (the harm sets and the safe
prompts, XSTest, TruthfulQA, AlpacaEval); the filter drops what comes too close to them. With
filter.judges, each of those harm judges scores every generated pair too (the filter's veto), and
with a content gate there (consistency, pairwise: `isara.loop.gate`), --model, the model the round
starts from, answers each well-formed pair's question again on its own, greedy, for the gate to
compare. The embeddings of the candidates and of D0 go to --embeddings, for the round's diversity.
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
from isara.loop.gate import GATES, gates_of
from isara.loop.own_answers import content_gates
from isara.records import read_jsonl, read_pool
from isara.stage import entry


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0")
@click.option("--candidates", required=True, help="generated pairs, JSONL")
@click.option("--model", "model_dir", required=True, help="the model the round starts from (content gates)")
@click.option("--out", required=True, help="one audit row per candidate, JSONL")
@click.option("--embeddings", required=True, help=".npz of the candidates' and D0's question embeddings")
@entry
def main(seed_pool, candidates, model_dir, out, embeddings):
    p = load_params()
    seed = read_pool(seed_pool)
    rows = read_jsonl(candidates, required=("id",))
    prompts = [(name, text) for name, text in evaluation_prompts(p) if text.strip()]
    encode = encoder(p.embedder.name, resolve_device(p.model.device), p.embedder.batch_size)
    questions = encode([row.get("question") or "" for row in rows])
    seed_vectors = encode([row["question"] for row in seed])
    audited = audit_rows(rows, questions, prompts, encode([text for _, text in prompts]), seed_vectors)
    harm = [name for name in p.filter.judges if name not in GATES]
    if harm:  # opt-in veto: each judge's harmful probability of every pair
        from isara.judges.registry import build_harm_judge

        pairs = [(row.get("question") or "", row.get("answer") or "") for row in rows]
        for name in harm:
            judge = build_harm_judge(name, p, Path("judges"), resolve_device(p.model.device))
            for row, prob in zip(audited, judge.harmful_probs(pairs)):
                row.setdefault("judges", {})[name] = round(float(prob), 4)
    if gates_of(p.filter.judges):
        updates = content_gates(rows, model_dir, p, encode)
        for row in audited:
            update = dict(updates.get(row["id"], {}))
            judges = {**row.get("judges", {}), **update.pop("judges", {})}
            row.update(update, **({"judges": judges} if judges else {}))
    with atomic_file(embeddings) as tmp:
        with open(tmp, "wb") as handle:
            categories = [row.get("category") for row in seed]
            extra = {"seed_categories": np.array(categories)} if all(isinstance(c, str) for c in categories) else {}
            np.savez(handle, candidates=questions, seed=seed_vectors, **extra)
    write_jsonl(out, audited)
    close = sum(is_contaminated(row, p.filter) for row in audited)
    asked = sum(row.get("own_answer") is not None for row in audited)
    gated = f"; {asked} own answers for {', '.join(gates_of(p.filter.judges))}" if gates_of(p.filter.judges) else ""
    click.echo(f"audited {len(rows)} questions against {len(prompts)} evaluation prompts "
               f"({close} as close as filter.contamination_*{gated}) -> {out}")


if __name__ == "__main__":
    main()
