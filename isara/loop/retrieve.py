"""The retrieve stage's contexts: the in-context examples each new question of a round is written from.

Each question prompt is anchored on a pool example (every example once per pass, in shuffled
order) and holds the anchor's k nearest pool examples, the anchor last, found by the pool's
`isara.retrieval.Retriever`. With a labelled pool (generation.by_label) the anchors are drawn by
label (`isara.labels.anchor_labels`) and a context holds the anchor's nearest items of its own
label (`label_masks`), and with generation.anchors: failures drawn towards the labels and categories
the run's starting model failed on the dev split (`isara.loop.failures`).
"""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np

from isara.labels import HARMFUL, LABELS, SAFE, anchor_labels
from isara.loop.failures import Weights, allocate, weight_of, weighted_safe_share
from isara.retrieval import Retriever


def anchors(pool_size: int, count: int, rng: random.Random) -> list[int]:
    """`count` pool positions, each used once per pass, passes shuffled independently."""
    chosen: list[int] = []
    while len(chosen) < count:
        order = list(range(pool_size))
        rng.shuffle(order)
        chosen.extend(order[: count - len(chosen)])
    return chosen


def pool_labels(pool: Sequence[dict]) -> list[str] | None:
    """Each pool item's label when every item carries one (a labelled D0 and what grew from it), else None."""
    labels = [row.get("label") for row in pool]
    return labels if labels and all(label in LABELS for label in labels) else None


def label_masks(pool: Sequence[dict]) -> dict[str, np.ndarray] | None:
    """label -> boolean mask of the pool items that carry it, for a labelled pool; else None."""
    labels = pool_labels(pool)
    return None if labels is None else {label: np.array([item == label for item in labels]) for label in LABELS}


def weighted_anchors(pool: Sequence[dict], positions: np.ndarray, label: str, count: int, weights: Weights,
                     rng_name: str) -> list[int]:
    """`count` of the pool `positions` (all of `label`), split over their categories in proportion to
    size x weight (`isara.loop.failures`), each category's drawn as `anchors` draws, then shuffled."""
    groups: dict[str, list[int]] = {}
    for position in positions.tolist():
        groups.setdefault(pool[position].get("category") or "all", []).append(position)
    quota = allocate(count, {c: len(items) * weight_of(weights, label, c) for c, items in groups.items()})
    chosen = [groups[c][i] for c in sorted(groups) if quota[c]
              for i in anchors(len(groups[c]), quota[c], random.Random(f"{rng_name}-{c}"))]
    random.Random(rng_name).shuffle(chosen)
    return chosen


def question_contexts(retriever: Retriever, pool: Sequence[dict], count: int, k: int, round_: int,
                      seed: int, safe_share: float | None = None, weights: Weights | None = None) -> list[dict]:
    """`count` contexts {"id", "iteration", "anchor_id", "context_ids"} for round `round_`.

    The anchors are drawn with `seed` and the round, so a run with a larger budget in the same
    round (the one-shot run) starts with exactly that round's contexts. With `safe_share` (a
    labelled pool), that share of the anchors is drawn from safe items and the rest from harmful
    ones (all from the one label a pool of one label has), each label with its own stream, and a
    context holds the anchor's nearest items of its own label; each context then carries its `label`.
    """
    labels = pool_labels(pool) if safe_share is not None else None
    if labels is None:
        rng = random.Random(f"{seed}-retrieve-{round_}")
        return [
            {
                "id": f"it{round_}-{n:04d}",
                "iteration": round_,
                "anchor_id": pool[anchor]["id"],
                "context_ids": [pool[i]["id"] for i in retriever.neighbours_of_item(anchor, k)],
            }
            for n, anchor in enumerate(anchors(len(pool), count, rng))
        ]
    masks = label_masks(pool)
    if not masks[SAFE].any() or not masks[HARMFUL].any():  # one label only (data.safe_share 0): all anchors its
        safe_share = float(masks[SAFE].any())
    if weights:
        safe_share = weighted_safe_share(safe_share, weights) if 0 < safe_share < 1 else safe_share
    wanted = anchor_labels(count, safe_share)
    streams = {}
    for label in LABELS:
        positions = np.flatnonzero(masks[label])
        needed, name = wanted.count(label), f"{seed}-retrieve-{round_}-{label}"
        if weights:
            streams[label] = iter(weighted_anchors(pool, positions, label, needed, weights, name))
            continue
        drawn = anchors(len(positions), needed, random.Random(name)) if needed else []
        streams[label] = iter(positions[drawn].tolist())
    contexts = []
    for n, label in enumerate(wanted):
        anchor = next(streams[label])
        contexts.append({"id": f"it{round_}-{n:04d}", "iteration": round_, "anchor_id": pool[anchor]["id"],
                         "label": label,
                         "context_ids": [pool[i]["id"] for i in retriever.neighbours_of_item(anchor, k, masks[label])]})
    return contexts
