"""Index a run's pool, choose how to search it, and pick each new question's k in-context examples.

    python stages/retrieve.py --run iter1 --pool work/iter0/pool.jsonl --embeddings work/iter1/embeddings.npy \
        --index work/iter1/pool.ann --search work/iter1/search.json --times work/iter1/search_times.json \
        --out work/iter1/contexts.jsonl --metrics metrics/methods/iter1/retrieval.json --dev reports/iter0/dev.jsonl

A pool below retrieval.exact_below examples is searched exactly; a larger one through the annoy
index, its search_k raised until recall@k reaches retrieval.min_recall (isara/retrieval.py).
The choice goes beside the index (--search, which generate reads) and, with its recall, to the
metrics; the build, calibration and query times, which vary from run to run, to --times: a log
that .dvcignore keeps out of every hash (it would change dvc.lock at every run).

A run writes samples_per_iteration x runs.<run>.rounds contexts, seeded by its round: the
one-shot run (round 1, every round's budget) starts with round 1's own contexts. With
generation.anchors failures, --dev (the prev model's answers to the dev prompts) tilts the anchors
towards the labels and categories it failed (isara/loop/failures.py).
"""

import time

import click

from isara.atomic import atomic_file, write_json, write_jsonl
from isara.config import load_params
from isara.errors import IsaraError
from isara.loop.embed import load_embeddings
from isara.loop.failures import load_failure_weights
from isara.loop.retrieve import question_contexts
from isara.records import read_pool
from isara.retrieval import Retriever, build_index, check_k, choose_search, unit_rows, write_search
from isara.stage import entry


@click.command()
@click.option("--run", "run_name", required=True, help="the run (a key of runs in params.yaml)")
@click.option("--pool", required=True)
@click.option("--embeddings", required=True)
@click.option("--index", "index_out", required=True, help="annoy index file to write")
@click.option("--search", "search_out", required=True, help="how the pool is searched (JSON, read by generate)")
@click.option("--times", "times_out", required=True, help="build, calibration and query times (JSON)")
@click.option("--out", required=True, help="question-prompt contexts, JSONL")
@click.option("--metrics", required=True, help="the search and its recall (JSON)")
@click.option("--dev", "dev_answers", default=None,
              help="the prev model's dev answers (suite dev), for generation.anchors: failures")
@entry
def main(run_name, pool, embeddings, index_out, search_out, times_out, out, metrics, dev_answers):
    p = load_params()
    weights = None
    if p.generation.anchors == "failures":
        if not dev_answers:
            raise IsaraError("generation.anchors failures: pass --dev, the prev model's dev answers")
        weights = load_failure_weights(dev_answers)
    rows = read_pool(pool)
    check_k(p.k, len(rows), pool)
    vectors = unit_rows(load_embeddings(embeddings, len(rows), pool), embeddings)
    start = time.perf_counter()
    index = build_index(vectors, p.retrieval.n_trees, p.seed)
    built = time.perf_counter()
    search = choose_search(vectors, index, p.k, p.retrieval, p.seed)
    chosen = time.perf_counter()
    count = p.generation.samples_per_iteration * p.runs[run_name].rounds
    contexts = question_contexts(Retriever(vectors, search, index), rows, count, p.k, p.round_of(run_name), p.seed,
                                 p.generation.safe_share if p.generation.by_label else None, weights)
    queried = time.perf_counter()
    with atomic_file(index_out) as tmp:
        index.save(str(tmp))
    write_search(search_out, search, index_out)
    write_json(times_out, {"build_s": round(built - start, 4), "calibrate_s": round(chosen - built, 4),
                           "query_ms": round(1000 * (queried - chosen) / count, 4), "queries": count})
    write_jsonl(out, contexts)
    write_json(metrics, search.record())
    click.echo(f"{run_name}: {search.describe()}")
    click.echo(f"{run_name}: {len(contexts)} contexts of k={p.k} from a pool of {len(rows)} -> {out}")


if __name__ == "__main__":
    main()
