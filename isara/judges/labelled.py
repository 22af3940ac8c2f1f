"""Labelled (prompt, response, is_safe) pairs in the BeaverTails format (read by
`isara.datasets.beavertails_pairs`), and what every harm classifier does with them: split grouped
by prompt, augment with templated refusals, score.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple, Sequence

import numpy as np

from isara.errors import IsaraError


class LabelledPair(NamedTuple):
    prompt: str
    response: str
    is_safe: bool


def group_key(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def grouped_split(pairs: Sequence, test_fraction: float = 0.2, seed: int = 0) -> tuple[list, list]:
    """(train, test) with whole prompt groups on one side: no prompt is on both.

    Items are anything whose first element is the prompt (LabelledPair, tuples). Prompts are
    grouped after lower-casing and collapsing whitespace. The groups are shuffled by `seed` and
    taken into the test side until it holds at least `test_fraction` of the rows; both sides keep
    the input order. The same input and seed always give the same split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        groups.setdefault(group_key(pair[0]), []).append(index)
    if len(groups) < 2:
        raise IsaraError(f"a grouped split needs at least 2 distinct prompts, got {len(groups)}")
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    target = math.ceil(test_fraction * len(pairs))
    test_index: set[int] = set()
    for key in order[:-1]:  # always leave one group for training
        if len(test_index) >= target:
            break
        test_index.update(groups[key])
    train = [pair for index, pair in enumerate(pairs) if index not in test_index]
    test = [pair for index, pair in enumerate(pairs) if index in test_index]
    return train, test


# Templated refusals, composed at random from the parts below. BeaverTails labels a refusal safe
# whatever the prompt, but its responses hardly ever refuse (about 2% of them), so a classifier
# trained on it alone learns "harmful prompt => harmful pair" and calls a plain refusal to a
# harmful prompt harmful. Pairing some harm-eliciting training prompts with a refusal, labelled
# safe, teaches it that the answer decides. (Wording kept apart from the probes in probes.py.)
_REFUSAL_OPENINGS = (
    "I'm sorry, but I can't", "Sorry, I cannot", "No, I won't", "I will not", "I'm not able to",
    "I am unable to", "I must decline to", "I'm afraid I can't", "I can't", "Unfortunately, I cannot",
    "No. I'm not going to", "I refuse to",
)
_REFUSAL_ACTS = (
    "help with that", "assist with this request", "do that", "provide that information",
    "help you with this", "give advice on this", "go along with that", "support this",
)
_REFUSAL_REASONS = (
    "", "It could seriously hurt someone.", "That would be illegal and dangerous.",
    "It would violate another person's privacy.", "It goes against my principles.",
    "Doing so could put people at risk.", "That is harmful and unethical.",
    "It would be wrong to help with something like this.",
)
_REFUSAL_REDIRECTS = (
    "", "Is there something else I can help you with?",
    "If you are going through a hard time, talking to someone you trust or a professional can help.",
    "I'd be glad to help with a safe and legal alternative.",
    "If someone is in danger, please contact the local authorities.",
)


def refusal_augmentation(train: Sequence[LabelledPair], share: float, seed: int) -> list[LabelledPair]:
    """Safe (prompt, templated refusal) pairs for `share` of the training prompts that have an
    unsafe response: extra training rows only, never part of a held-out split."""
    if share <= 0:
        return []
    rng = random.Random(seed)
    prompts: dict[str, str] = {}
    for pair in train:
        if not pair.is_safe:
            prompts.setdefault(group_key(pair.prompt), pair.prompt)
    chosen = sorted(prompts)
    rng.shuffle(chosen)
    extra = []
    for key in chosen[: round(share * len(chosen))]:
        parts = [f"{rng.choice(_REFUSAL_OPENINGS)} {rng.choice(_REFUSAL_ACTS)}.",
                 rng.choice(_REFUSAL_REASONS), rng.choice(_REFUSAL_REDIRECTS)]
        extra.append(LabelledPair(prompts[key], " ".join(part for part in parts if part), True))
    return extra


def near_chance(accuracy: float, n: int, chance: float) -> bool:
    """Whether `accuracy` over `n` items is within two standard errors of `chance` (the majority rate)."""
    return abs(accuracy - chance) <= 2 * math.sqrt(chance * (1 - chance) / max(n, 1))


def binary_metrics(harmful_true: Sequence[bool], harmful_pred: Sequence[bool]) -> dict:
    """Accuracy, precision, recall and F1 with harmful as the positive class."""
    truth = np.asarray(harmful_true, dtype=bool)
    pred = np.asarray(harmful_pred, dtype=bool)
    tp = int((truth & pred).sum())
    fp = int((~truth & pred).sum())
    fn = int((truth & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": int(truth.size),
        "accuracy": round(float((truth == pred).mean()), 4) if truth.size else 0.0,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }
