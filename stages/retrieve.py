"""Index a run's pool with annoy and pick, for each new question to write, its k in-context examples.

    python stages/retrieve.py --run iter1 --pool work/iter0/pool.jsonl \
        --embeddings work/iter1/embeddings.npy --index work/iter1/pool.ann --out work/iter1/contexts.jsonl

A run writes samples_per_iteration x runs.<run>.rounds contexts, seeded by its round: the
one-shot run (round 1, every round's budget) starts with round 1's own contexts.
"""

import click

from isara.atomic import atomic_file, write_jsonl
from isara.config import load_params
from isara.loop.embed import load_embeddings
from isara.loop.retrieve import build_index, check_k, question_contexts
from isara.records import read_pool
from isara.stage import entry


@click.command()
@click.option("--run", "run_name", required=True, help="the run (a key of runs in params.yaml)")
@click.option("--pool", required=True)
@click.option("--embeddings", required=True)
@click.option("--index", "index_out", required=True, help="annoy index file to write")
@click.option("--out", required=True, help="question-prompt contexts, JSONL")
@entry
def main(run_name, pool, embeddings, index_out, out):
    p = load_params()
    rows = read_pool(pool)
    check_k(p.k, len(rows), pool)
    index = build_index(load_embeddings(embeddings, len(rows), pool), p.retrieval.n_trees, p.seed)
    count = p.generation.samples_per_iteration * p.runs[run_name].rounds
    contexts = question_contexts(index, rows, count, p.k, p.round_of(run_name), p.seed)
    with atomic_file(index_out) as tmp:
        index.save(str(tmp))
    write_jsonl(out, contexts)
    click.echo(f"{run_name}: {len(contexts)} contexts of k={p.k} from a pool of {len(rows)} -> {out}")


if __name__ == "__main__":
    main()
