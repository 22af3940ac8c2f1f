"""kNN retrieval over pool embeddings with annoy, and the choice of question-prompt anchors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from annoy import AnnoyIndex

from isara.errors import IsaraError

METRIC = "angular"  # cosine distance on the normalised sentence embeddings


def check_k(k: int, pool_size: int, pool_path) -> None:
    if k > pool_size:
        raise IsaraError(f"params.yaml: k={k} is larger than the pool ({pool_size} examples in {pool_path})")


def load_embeddings(path, pool_size: int, pool_path) -> np.ndarray:
    """The pool's embeddings, checked to hold one row per pool example."""
    try:
        vectors = np.load(path)
    except (FileNotFoundError, ValueError) as err:
        raise IsaraError(f"{path}: cannot read embeddings ({err})") from None
    if vectors.ndim != 2 or vectors.shape[0] != pool_size:
        rows = vectors.shape[0] if vectors.ndim else 0
        raise IsaraError(f"{path}: {rows} embeddings for the {pool_size} examples of {pool_path}")
    return vectors


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
