"""The pool's retrieval keys: one sentence embedding per pool question, saved as .npy."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from isara.atomic import atomic_file
from isara.errors import IsaraError


def embed_pool(rows: Sequence[dict], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """L2-normalised embeddings of the pool's questions, in pool order."""
    return encode([row["question"] for row in rows])


def save_embeddings(path: str | Path, vectors: np.ndarray) -> None:
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)


def load_embeddings(path: str | Path, pool_size: int, pool_path) -> np.ndarray:
    """The pool's embeddings, checked to hold one row per pool example (never unpickled)."""
    try:
        vectors = np.load(path, allow_pickle=False)
    except (FileNotFoundError, ValueError) as err:
        raise IsaraError(f"{path}: cannot read embeddings ({err})") from None
    if vectors.ndim != 2 or vectors.shape[0] != pool_size:
        rows = vectors.shape[0] if vectors.ndim else 0
        raise IsaraError(f"{path}: {rows} embeddings for the {pool_size} examples of {pool_path}")
    return vectors
