"""The sentence encoder: L2-normalised embeddings of questions (the retrieval keys)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from isara.packaged import encoder_path


def load_embedder(name: str, device: str):
    """A SentenceTransformer from a packaged alias (no hub needed), a hub id or a local folder."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(encoder_path(name), device=device)


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


def encoder(name: str, device, batch_size: int):
    """texts -> embeddings with the named encoder, loaded once."""
    model = load_embedder(name, str(device))
    return lambda texts: embed(model, texts, batch_size)
