"""Nearest-neighbour search over unit-norm sentence embeddings: the loop's retrieve and generate
stages search a pool through one `Retriever`, the ICL-kNN baseline uses its exact search, and
bench/retrieval.py measures both searches.

It holds:
- `unit_rows`: embeddings as L2-normalised float32 rows (a zero, NaN or infinite row is an error);
- exact search (`exact_nearest`, over `top`): cosine similarity as one float32 product of the
  unit rows with the query, highest first, ties broken by position;
- annoy search and its calibration (`build_index`, `calibrate`, `choose_search`), and the
  `Retriever`, which answers a query by one `Search`;
- the search record and the index on disk (`write_search`, `read_search`, `load_index`,
  `open_retriever`).

How a pool is searched depends on its size:
- below `retrieval.exact_below` examples, exactly;
- from there on, with an annoy index (`retrieval.n_trees` trees, built with `seed`) inspecting
  `search_k` nodes per query. search_k is calibrated on the pool itself: a seeded sample of
  `retrieval.recall_sample` pool items, each asking for its k nearest other items, must find at
  least `retrieval.min_recall` of what exact search finds. It starts at annoy's own default
  (n_trees x k) and doubles until the recall holds; if it never does (search_k stops at the pool
  size: annoy inspecting more nodes than the pool has items costs more than exact search), the
  search is exact.
Annoy's candidates are ranked by the same exact score, so both searches order what they find alike.

The retrieve stage chooses (`choose_search`) and writes its choice beside the index
(`write_search`); generate reads it back (`open_retriever`: every field checked, the index tied to
the record by its sha256) and searches the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from annoy import AnnoyIndex

from isara.atomic import write_json
from isara.config.generation import Retrieval
from isara.errors import IsaraError

METRIC = "angular"  # annoy's cosine distance
EXACT, ANNOY = "exact", "annoy"
METHODS = (EXACT, ANNOY)


def check_k(k: int, pool_size: int, pool_path) -> None:
    """A pool too small for k neighbours is an error in params.yaml's k."""
    if k > pool_size:
        raise IsaraError(f"params.yaml: k={k} is larger than the pool ({pool_size} examples in {pool_path})")


def unit_rows(vectors: np.ndarray, where) -> np.ndarray:
    """`vectors` (embeddings, one per row) as L2-normalised float32 rows; a NaN, infinite or zero
    row is an error that names `where`."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise IsaraError(f"{where}: embeddings must be a 2-d array, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    bad = np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0))
    if bad.size:
        raise IsaraError(f"{where}: embedding {bad[0]} is zero, NaN or infinite")
    return vectors / norms


@dataclass(frozen=True)
class Search:
    """How a pool is searched, and what the choice was measured to give.

    recall is recall@k of the search used on the calibration sample (1.0 when exact);
    annoy_recall that of annoy at its last search_k (None when annoy was not tried).
    """

    method: str  # exact | annoy
    search_k: int | None  # annoy nodes inspected per query; None when exact
    pool_size: int
    k: int
    recall: float
    annoy_recall: float | None = None
    recall_sample: int = 0  # pool items the recall was measured on

    def record(self) -> dict:
        """The choice as JSON: written beside the index and as the stage's metrics (deterministic)."""
        return {"method": self.method, "search_k": self.search_k, "pool_size": self.pool_size, "k": self.k,
                "recall": round(self.recall, 4),
                "annoy_recall": None if self.annoy_recall is None else round(self.annoy_recall, 4),
                "recall_sample": self.recall_sample}

    def describe(self) -> str:
        """One line for the stage's log: the search chosen and why."""
        if self.method == ANNOY:
            return (f"annoy search, search_k={self.search_k}: recall@{self.k} {self.recall:.4f} "
                    f"on {self.recall_sample} pool items")
        if self.annoy_recall is None:
            return f"exact search over the {self.pool_size} pool examples"
        return (f"exact search over the {self.pool_size} pool examples: annoy reached only recall@{self.k} "
                f"{self.annoy_recall:.4f} < retrieval.min_recall at search_k={self.pool_size}")


def exact_search(pool_size: int, k: int) -> Search:
    return Search(EXACT, None, pool_size, k, 1.0)


def top(scores: np.ndarray, count: int, positions: np.ndarray | None = None) -> list[int]:
    """The `count` highest scores' positions, highest first, ties to the lower position."""
    if count <= 0:
        return []
    if positions is None:
        positions = np.arange(len(scores))
    else:
        by_position = np.argsort(positions, kind="stable")
        scores, positions = scores[by_position], np.asarray(positions)[by_position]
    if count < len(scores):
        kth = np.partition(scores, len(scores) - count)[len(scores) - count]
        keep = np.flatnonzero(scores >= kth)
        scores, positions = scores[keep], positions[keep]
    return positions[np.argsort(-scores, kind="stable")[:count]].tolist()


def exact_nearest(vectors: np.ndarray, query: np.ndarray, count: int, skip: int | None = None) -> list[int]:
    """Exact search: the `count` rows of `vectors` most cosine-similar to `query` (unit-norm rows and
    query: one product), other than row `skip`, nearest first, ties to the lower position."""
    if count <= 0:
        return []
    scores = vectors @ query
    if skip is not None:
        scores[skip] = -np.inf
    return top(scores, count)


class Retriever:
    """The nearest pool positions to a pool item or to a new embedding, by one `Search`."""

    def __init__(self, vectors: np.ndarray, search: Search, index: AnnoyIndex | None = None):
        if search.method == ANNOY and index is None:
            raise ValueError("an annoy search needs its index")
        self.vectors = vectors  # unit_rows of the pool
        self.search = search
        self.index = index

    def nearest(self, query: np.ndarray, count: int, skip: int | None = None,
                among: np.ndarray | None = None) -> list[int]:
        """The `count` pool positions most similar to `query` (other than `skip`; only positions of
        the boolean mask `among` when given), nearest first."""
        query = np.asarray(query, dtype=np.float32)
        if among is not None:  # one label's items: searched exactly (a label is a share of the pool)
            scores = np.where(among, self.vectors @ query, -np.inf)
            if skip is not None:
                scores[skip] = -np.inf
            return top(scores, min(count, int(np.isfinite(scores).sum())))
        count = min(count, len(self.vectors) - (skip is not None))
        if count <= 0:
            return []
        if self.search.method == EXACT:
            return exact_nearest(self.vectors, query, count, skip)
        found = self.index.get_nns_by_vector(query.tolist(), count + (skip is not None), self.search.search_k)
        found = np.array([i for i in found if i != skip][:count], dtype=np.int64)
        if len(found) < count:  # annoy came back short (a tiny search_k): this query is answered exactly
            return exact_nearest(self.vectors, query, count, skip)
        return top(self.vectors[found] @ query, count, found)

    def neighbours_of_item(self, position: int, k: int, among: np.ndarray | None = None) -> list[int]:
        """Pool item `position` and its k-1 nearest other pool items (of mask `among`), farthest first.

        Farthest first puts the closest example (the item itself) right before the open slot.
        """
        return list(reversed([position] + self.nearest(self.vectors[position], k - 1, skip=position, among=among)))

    def neighbours_of_vector(self, vector: np.ndarray, k: int, among: np.ndarray | None = None) -> list[int]:
        """The k nearest pool positions (of mask `among`) to a new question's embedding, farthest first."""
        vector = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if not math.isfinite(norm) or norm == 0:
            raise IsaraError("a question embedding is zero, NaN or infinite")
        return list(reversed(self.nearest(vector / norm, k, among=among)))


def build_index(vectors: np.ndarray, n_trees: int, seed: int) -> AnnoyIndex:
    index = AnnoyIndex(vectors.shape[1], METRIC)
    index.set_seed(seed)
    for position, vector in enumerate(vectors):
        index.add_item(position, vector.tolist())
    index.build(n_trees, n_jobs=1)  # one job: the same trees for the same seed
    return index


def recall_sample(pool_size: int, size: int, seed: int) -> list[int]:
    """The pool positions search_k is calibrated on: up to `size`, drawn with `seed`, in order."""
    return sorted(random.Random(f"{seed}-recall").sample(range(pool_size), min(size, pool_size)))


def recall_at(retriever: Retriever, truth: Sequence[list[int]], sample: Sequence[int], count: int) -> float:
    """Share of the exact `count` nearest other items (`truth`, per sampled item) that `retriever` finds."""
    if count == 0 or not sample:
        return 1.0
    hits = sum(len(set(retriever.nearest(retriever.vectors[i], count, skip=i)) & set(want))
               for i, want in zip(sample, truth))
    return hits / (count * len(sample))


def calibrate(vectors: np.ndarray, index: AnnoyIndex, k: int, n_trees: int, min_recall: float,
              sample_size: int, seed: int) -> Search:
    """The smallest search_k of the doubling series whose recall@k reaches min_recall (else exact)."""
    pool_size = len(vectors)
    count = min(k, pool_size - 1)
    sample = recall_sample(pool_size, sample_size, seed)
    exact = Retriever(vectors, exact_search(pool_size, k))
    truth = [exact.nearest(vectors[i], count, skip=i) for i in sample]
    cap = pool_size  # inspecting more nodes than the pool has items costs more than exact search
    search_k = min(n_trees * k, cap)
    while True:
        trial = Search(ANNOY, search_k, pool_size, k, 0.0)
        recall = recall_at(Retriever(vectors, trial, index), truth, sample, count)
        if recall >= min_recall:
            return Search(ANNOY, search_k, pool_size, k, recall, recall, len(sample))
        if search_k >= cap:
            return Search(EXACT, None, pool_size, k, 1.0, recall, len(sample))
        search_k = min(2 * search_k, cap)


def choose_search(vectors: np.ndarray, index: AnnoyIndex, k: int, retrieval: Retrieval, seed: int) -> Search:
    """Exact below retrieval.exact_below pool items, else annoy calibrated to retrieval.min_recall."""
    if len(vectors) < retrieval.exact_below:
        return exact_search(len(vectors), k)
    return calibrate(vectors, index, k, retrieval.n_trees, retrieval.min_recall, retrieval.recall_sample, seed)


# --- the record generate reads back: input like any other, so every field is checked ------------

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_search(path: str | Path, search: Search, index_path: str | Path) -> None:
    """The search beside the index, tied to it by the index file's sha256."""
    write_json(path, {**search.record(), "index_sha256": file_sha256(index_path)})


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _field(path, record: dict, name: str, kinds, check, what: str):
    if name not in record:
        raise IsaraError(f"{path}: field '{name}' is missing")
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, kinds) or not check(value):
        raise IsaraError(f"{path}: field '{name}' must be {what}, got {value!r}")
    return value


def read_search(path: str | Path, pool_size: int, k: int) -> tuple[Search, str]:
    """The search retrieve chose for this pool and k, and the sha256 of its index; every field checked."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found (run the retrieve stage first)") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise IsaraError(f"{path}: not a search record ({err})") from None
    if not isinstance(record, dict):
        raise IsaraError(f"{path}: expected a JSON object, got {type(record).__name__}")
    unknown = sorted(set(record) - set(exact_search(0, 0).record()) - {"index_sha256"})
    if unknown:
        raise IsaraError(f"{path}: unknown field '{unknown[0]}'")
    method = _field(path, record, "method", str, lambda v: v in METHODS, f"one of {', '.join(METHODS)}")
    size = _field(path, record, "pool_size", int, lambda v: v == pool_size, f"the pool's size {pool_size}")
    _field(path, record, "k", int, lambda v: v == k, f"params.yaml's k={k}")
    if method == EXACT:
        search_k = _field(path, record, "search_k", type(None), lambda v: True, "null for an exact search")
    else:
        search_k = _field(path, record, "search_k", int, lambda v: 1 <= v <= size, f"an integer in [1, {size}]")
    unit = lambda v: math.isfinite(v) and 0 <= v <= 1  # noqa: E731
    recall = _field(path, record, "recall", (int, float), unit, "a number in [0, 1]")
    annoy = _field(path, record, "annoy_recall", (int, float, type(None)), lambda v: v is None or unit(v),
                   "null or a number in [0, 1]")
    sample = _field(path, record, "recall_sample", int, lambda v: 0 <= v <= size, f"an integer in [0, {size}]")
    digest = _field(path, record, "index_sha256", str, lambda v: bool(SHA256.match(v)), "a sha256 in hex")
    return Search(method, search_k, size, k, float(recall), None if annoy is None else float(annoy), sample), digest


def load_index(path: str | Path, dim: int, pool_size: int, sha256: str) -> AnnoyIndex:
    """The annoy index retrieve wrote for this pool: the file its record names (by sha256), checked."""
    path = Path(path)
    if not path.is_file():
        raise IsaraError(f"{path}: file not found (run the retrieve stage first)")
    if file_sha256(path) != sha256:
        raise IsaraError(f"{path}: not the index its search record was written for (sha256 differs)")
    index = AnnoyIndex(dim, METRIC)
    try:
        index.load(str(path), prefault=False)
    except OSError as err:
        raise IsaraError(f"{path}: not an annoy index of dimension {dim} ({err})") from None
    if index.get_n_items() != pool_size:
        raise IsaraError(f"{path}: an index of {index.get_n_items()} items for a pool of {pool_size}")
    return index


def open_retriever(vectors: np.ndarray, search_path: str | Path, index_path: str | Path, k: int) -> Retriever:
    """The retriever retrieve chose for this pool (`vectors`: unit_rows of its embeddings)."""
    search, digest = read_search(search_path, len(vectors), k)
    index = load_index(index_path, vectors.shape[1], len(vectors), digest) if search.method == ANNOY else None
    return Retriever(vectors, search, index)

