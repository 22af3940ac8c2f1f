"""Retrieval side by side: recall@k and query time of exact search and annoy, pool size by pool size.

    python bench/retrieval.py                                  # the README's table (a minute or two, idle machine)
    python bench/retrieval.py --sizes 80 600 --queries 50      # a quick look
    python bench/retrieval.py --texts all --sizes 3000 6000 10000 13000   # real text at larger pools

Pools: the first N distinct questions of BeaverTails (30k_test, then Evaluation) and TruthfulQA
(benchmarks.source, 4,043 questions), embedded with params.yaml's embedder, while the questions
last; beyond, random unit vectors of the embedder's dimension (seeded), which have no structure for
annoy's trees to exploit and so are its hard case. `--texts all` adds the AlpacaEval instructions,
XSTest prompts, HH-RLHF human turns and BeaverTails responses (13,301 texts, shuffled by seed).

Queries: texts that are in no pool (the --queries after the largest real pool; random vectors
beyond), each asking for its k nearest pool examples as generate asks for a new question's, through
isara's own retriever. Recall@k is against exact search. Columns:

- exact: float32 cosine over the whole pool (retrieval below retrieval.exact_below);
- annoy -1: annoy with search_k=-1 (n_trees x k nodes per query, annoy's default);
- annoy calibrated: annoy with the search_k the retrieve stage calibrates for this pool
  (retrieval.min_recall on retrieval.recall_sample of the pool's own items), or exact when annoy
  never reaches it;
- build: the annoy index (retrieval.n_trees trees); calibrate: choosing search_k;
- isara uses: what the retrieve stage searches this pool with.
Everything runs on --threads threads (1 by default, BLAS included): the per-core figure.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isara.config import load_params  # noqa: E402
from isara.datasets import (alpaca_eval, beavertails_pairs, beavertails_prompts, hh_rlhf_pairs,  # noqa: E402
                            truthfulqa, xstest)
from isara.retrieval import (ANNOY, Retriever, Search, build_index, calibrate, exact_search,  # noqa: E402
                             unit_rows)

SIZES = (80, 600, 1100, 3000, 10_000, 50_000)


def questions(source) -> list[str]:
    """The distinct benchmark questions, in file order."""
    texts = ([row["prompt"] for row in beavertails_pairs(source)]
             + [row["prompt"] for row in beavertails_prompts(source)]
             + [row["question"] for row in truthfulqa(source)])
    return list(dict.fromkeys(text.strip() for text in texts))


def all_texts(source, seed: int) -> list[str]:
    """The questions, AlpacaEval instructions, XSTest prompts, HH-RLHF human turns and BeaverTails
    responses, distinct, shuffled by `seed`: real text for pools up to about 13,000."""
    texts = (questions(source) + [row["instruction"] for row in alpaca_eval(source)]
             + [row["prompt"] for row in xstest(source)])
    for pair in hh_rlhf_pairs(source):  # each human turn of the dialogue
        texts += [turn.split("\n\nAssistant:")[0] for turn in re.split(r"(?:^|\n\n)Human: ", pair["prompt"])[1:]]
    texts += [row["response"] for row in beavertails_pairs(source)]
    texts = list(dict.fromkeys(text.strip() for text in texts if text.strip()))
    random.Random(seed).shuffle(texts)
    return texts


def embedded(p, texts: list[str], threads: int) -> np.ndarray:
    import torch

    from isara.embedder import encoder

    torch.set_num_threads(threads)
    return encoder(p.embedder.name, "cpu", p.embedder.batch_size)(texts)


def random_units(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    return unit_rows(vectors, "random vectors")


def timed(retriever: Retriever, queries: np.ndarray, k: int) -> tuple[list[list[int]], float]:
    """Each query's k nearest (nearest first) and the mean milliseconds per query."""
    start = time.perf_counter()
    found = [retriever.nearest(query, k) for query in queries]
    return found, 1000 * (time.perf_counter() - start) / len(queries)


def recall(found: list[list[int]], truth: list[list[int]], k: int) -> float:
    return sum(len(set(a) & set(b)) for a, b in zip(found, truth)) / (k * len(truth))


def row(size: int, kind: str, pool: np.ndarray, queries: np.ndarray, p) -> list[str]:
    k, r = p.k, p.retrieval
    vectors = unit_rows(pool, kind)
    start = time.perf_counter()
    index = build_index(vectors, r.n_trees, p.seed)
    build_s = time.perf_counter() - start
    truth, exact_ms = timed(Retriever(vectors, exact_search(size, k)), queries, k)
    default, default_ms = timed(Retriever(vectors, Search(ANNOY, -1, size, k, 0.0), index), queries, k)
    start = time.perf_counter()
    search = calibrate(vectors, index, k, r.n_trees, r.min_recall, r.recall_sample, p.seed)
    calibrate_s = time.perf_counter() - start
    if search.method == ANNOY:
        tuned, tuned_ms = timed(Retriever(vectors, search, index), queries, k)
        calibrated = [f"{search.search_k:,}", f"{recall(tuned, truth, k):.3f}", f"{tuned_ms:.3f}"]
    else:
        calibrated = [f"exact (annoy: {search.annoy_recall:.3f} at {size:,})", "1.000", f"{exact_ms:.3f}"]
    uses = "exact" if size < r.exact_below else search.method
    return [f"{size:,}", kind, f"{exact_ms:.3f}", f"{recall(default, truth, k):.3f}", f"{default_ms:.3f}",
            *calibrated, f"{build_s:.2f}", f"{calibrate_s:.2f}", uses]


HEADER = ["pool", "vectors", "exact ms/q", "annoy -1 recall", "annoy -1 ms/q", "calibrated search_k",
          "calibrated recall", "calibrated ms/q", "build s", "calibrate s", "isara uses"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="pool sizes")
    parser.add_argument("--queries", type=int, default=200, help="held-out queries per pool size")
    parser.add_argument("--texts", choices=("questions", "all"), default="questions",
                        help="real pools from the benchmark questions, or from every benchmark text (to ~13,000)")
    parser.add_argument("--threads", type=int, default=1, help="threads for BLAS, annoy and the embedder")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"), help="k, seed, retrieval, embedder")
    args = parser.parse_args()
    p = load_params(args.params)
    source = p.benchmarks.source if p.benchmarks.source == "hub" else ROOT / p.benchmarks.source
    rng = np.random.default_rng(p.seed)
    with threadpool_limits(args.threads):
        texts = questions(source) if args.texts == "questions" else all_texts(source, p.seed)
        real = [size for size in args.sizes if size + args.queries <= len(texts)]
        vectors = embedded(p, texts[:max(real) + args.queries], args.threads) if real else None
        dim = vectors.shape[1] if vectors is not None else 384
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        print(f"k={p.k}, n_trees={p.retrieval.n_trees}, min_recall={p.retrieval.min_recall}, "
              f"recall_sample={p.retrieval.recall_sample}, exact_below={p.retrieval.exact_below}, "
              f"{args.queries} queries, {args.threads} thread(s)\n")
        print("\n".join(lines), flush=True)
        for size in args.sizes:
            if size in real:
                pool, queries, kind = vectors[:size], vectors[-args.queries:], args.texts
            else:
                pool, queries, kind = random_units(size, dim, rng), random_units(args.queries, dim, rng), "random"
            print("| " + " | ".join(row(size, kind, pool, queries, p)) + " |", flush=True)


if __name__ == "__main__":
    main()
