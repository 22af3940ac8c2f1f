"""The prompt judge's measured error: the label vote (`isara.labels.vote`) of every labelled dev
prompt against its human label, as every judge's check is reported (accuracy with its Wilson
interval, F1 with harmful as the positive class, the majority baseline). Pure."""

from __future__ import annotations

from typing import Sequence

from isara.judges.labelled import binary_metrics, near_chance
from isara.labels import HARMFUL
from isara.stats import interval, wilson

MEASURED_ON = "labelled dev prompts (data.dev_file)"


def check_prompt_judge(truth: Sequence[str], voted: Sequence[str], k: int, harmful_at: float = 0.5) -> dict:
    """The check of a label vote of `k` neighbours (harmful from a share `harmful_at` of them above the
    majority): `truth` and `voted` labels, one per dev prompt."""
    if not truth:
        return {"judge": "prompt_label", "measured_on": MEASURED_ON, "n": 0}
    harmful_true = [label == HARMFUL for label in truth]
    agreement = binary_metrics(harmful_true, [label == HARMFUL for label in voted])
    correct = sum(a == b for a, b in zip(truth, voted))
    majority = max(sum(harmful_true), len(truth) - sum(harmful_true)) / len(truth)
    return {
        "judge": "prompt_label",
        "measured_on": MEASURED_ON,
        "k": k,
        **({"harmful_at": harmful_at} if harmful_at > 0.5 else {}),
        **agreement,
        "ci95": interval(wilson(correct, len(truth))),
        "majority_accuracy": round(majority, 4),
        "near_chance": near_chance(agreement["accuracy"], agreement["n"], majority),
    }
