"""Model cards: a README.md written into every fine-tuned model folder (pure rendering)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import Sequence

from isara.config import Params


def training_data(rows: Sequence[dict]) -> dict:
    """Row counts and total weight per source of a training mix."""
    counts = Counter(row.get("source", "seed") for row in rows)
    weights: Counter = Counter()
    for row in rows:
        weights[row.get("source", "seed")] += float(row.get("weight", 1.0))
    return {"rows": len(rows), **{f"{source}_rows": n for source, n in sorted(counts.items())},
            **{f"{source}_weight": round(w, 4) for source, w in sorted(weights.items())}}


def model_card(name: str, stage: str, start: str, p: Params, data: dict, stats: dict,
               metrics_paths: Sequence[str]) -> str:
    """Markdown: what the model is, what it was trained on and with, and how to rebuild it."""
    top = {"seed": p.seed}  # only what the fine-tune stage reads: data-side params live in dvc.lock
    lines = [
        f"# {name}",
        "",
        f"Fine-tuned by the isara pipeline (DVC stage `{stage}`) from `{start}`; "
        f"base model `{p.model.name}`.",
        "",
        "## Reproduce",
        "",
        "At the git commit that holds this model's `dvc.lock`:",
        "",
        "```",
        f"dvc repro {stage}",
        "```",
        "",
        "## Training data",
        "",
        "| field | value |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in data.items()],
        "",
        "## Training metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {key} | {_number(value)} |" for key, value in stats.items()],
        "",
        "## Evaluation",
        "",
        "Written by the evaluation stages after training: "
        + ", ".join(f"`{path}`" for path in metrics_paths)
        + "; every method side by side in `report/report.md`.",
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps({**top, "model": asdict(p.model), "finetune": asdict(p.finetune)}, indent=2, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)


def _number(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
