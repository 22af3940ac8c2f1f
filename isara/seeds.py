"""Where D0 comes from: the authored seed file, or a real dataset (benchmarks.source).

- file: `data.seed_file` (the zero-setup demo: declining harm, offering safe help);
- beavertails: safe pairs (is_safe true) of the labelled split whose prompt is not one of the
  BeaverTails-Evaluation prompts. Faithful to the data: these "safe" answers mostly comply
  rather than decline;
- truthfulqa: questions with their best answers; the questions drawn are left out of the
  TruthfulQA evaluation, so the split is random (seeded), not by category;
- self_instruct: the 175 Self-Instruct seed tasks (instruction + input, output).
`seed_size` of the candidates are then drawn with `seed`.
"""

from __future__ import annotations

import random

from isara import benchmarks
from isara.errors import IsaraError
from isara.filtering import normalise
from isara.files import read_jsonl
from isara.params import Params


def seed_candidates(p: Params) -> tuple[list[dict], str]:
    """Every pair D0 may be drawn from ({"id", "question", "answer"}), and a description of it."""
    kind, source = p.data.seed_source, p.benchmarks.source
    if kind == "file":
        rows = read_jsonl(p.data.seed_file, required=("question", "answer"))
        where = p.data.seed_file
    elif kind == "beavertails":
        held_out = {normalise(r["prompt"]) for r in benchmarks.beavertails_prompts(source)}
        rows, seen = [], set()
        for r in benchmarks.beavertails_pairs(source, p.benchmarks.beavertails_split):
            key = normalise(r["prompt"])
            if r["is_safe"] and key not in held_out and key not in seen:
                seen.add(key)
                rows.append({"question": r["prompt"], "answer": r["response"]})
        where = f"BeaverTails {p.benchmarks.beavertails_split} safe pairs ({source})"
    elif kind == "truthfulqa":
        rows = [{"question": r["question"], "answer": r["best_answer"]} for r in benchmarks.truthfulqa(source)]
        where = f"TruthfulQA best answers ({source})"
    else:
        rows = [{"question": r["question"], "answer": r["answer"], "id": r.get("id")} for r in benchmarks.self_instruct(source)]
        where = f"Self-Instruct seed tasks ({source})"
    prefix = "seed" if kind == "file" else kind
    return [
        {"id": str(r.get("id") or f"{prefix}-{i:04d}"), "question": r["question"], "answer": r["answer"]}
        for i, r in enumerate(rows)
    ], where


def draw_seed(rows: list[dict], seed_size: int, seed: int, where: str) -> list[dict]:
    """`seed_size` rows drawn reproducibly, in source order."""
    if seed_size > len(rows):
        raise IsaraError(f"params.yaml: seed_size={seed_size} is larger than {where} ({len(rows)} pairs)")
    picked = sorted(random.Random(seed).sample(range(len(rows)), seed_size))
    return [{**rows[i], "source": "seed"} for i in picked]
