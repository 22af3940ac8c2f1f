"""kNN retrieval over pool embeddings with annoy, and the in-context examples of each new question.

Each question prompt is anchored on a pool example (every example once per pass, in shuffled
order) and holds the anchor's k nearest pool examples, the anchor last.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

import numpy as np
from annoy import AnnoyIndex

from isara.errors import IsaraError

METRIC = "angular"  # cosine distance on the normalised sentence embeddings


def check_k(k: int, pool_size: int, pool_path) -> None:
    if k > pool_size:
        raise IsaraError(f"params.yaml: k={k} is larger than the pool ({pool_size} examples in {pool_path})")


def build_index(vectors: np.ndarray, n_trees: int, seed: int) -> AnnoyIndex:
    index = AnnoyIndex(vectors.shape[1], METRIC)
    index.set_seed(seed)
    for position, vector in enumerate(vectors):
        index.add_item(position, vector.tolist())
    index.build(n_trees, n_jobs=1)  # one job: the same trees for the same seed
    return index


def load_index(path: Path, dim: int) -> AnnoyIndex:
    index = AnnoyIndex(dim, METRIC)
    index.load(str(path))
    return index


def anchors(pool_size: int, count: int, rng: random.Random) -> list[int]:
    """`count` pool positions, each used once per pass, passes shuffled independently."""
    chosen: list[int] = []
    while len(chosen) < count:
        order = list(range(pool_size))
        rng.shuffle(order)
        chosen.extend(order[: count - len(chosen)])
    return chosen


def neighbours_of_item(index: AnnoyIndex, position: int, k: int) -> list[int]:
    """The k nearest pool positions to a pool item (itself included), farthest first.

    Farthest first puts the closest example right before the open slot.
    """
    return list(reversed(index.get_nns_by_item(position, k, search_k=-1)))


def neighbours_of_vector(index: AnnoyIndex, vector: np.ndarray, k: int) -> list[int]:
    """The k nearest pool positions to a new question's embedding, farthest first."""
    return list(reversed(index.get_nns_by_vector(vector.tolist(), k, search_k=-1)))


def question_contexts(index: AnnoyIndex, pool: Sequence[dict], count: int, k: int, round_: int,
                      seed: int) -> list[dict]:
    """`count` contexts {"id", "iteration", "anchor_id", "context_ids"} for round `round_`.

    The anchors are drawn with `seed` and the round, so a run with a larger budget in the same
    round (the one-shot baseline) starts with exactly that round's contexts.
    """
    rng = random.Random(f"{seed}-retrieve-{round_}")
    return [
        {
            "id": f"it{round_}-{n:04d}",
            "iteration": round_,
            "anchor_id": pool[anchor]["id"],
            "context_ids": [pool[i]["id"] for i in neighbours_of_item(index, anchor, k)],
        }
        for n, anchor in enumerate(anchors(len(pool), count, rng))
    ]
