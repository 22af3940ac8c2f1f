"""Index the pool with annoy and pick, for each new question to write, its k in-context examples.

    python stages/retrieve.py --iteration 1 --pool work/iter0/pool.jsonl \
        --embeddings work/iter1/embeddings.npy --index work/iter1/pool.ann \
        --out work/iter1/contexts.jsonl

Each prompt is anchored on a pool example (every example once per pass, in shuffled order) and
holds the anchor's k nearest pool examples, the anchor last.

`--all-rounds` writes the contexts of every round at once (samples_per_iteration x the number of
rounds): the one-shot baseline's budget. With the same --iteration its first contexts are that
round's own.
"""

import random

import click

from isara.files import atomic_file, write_jsonl
from isara.retrieval import anchors, build_index, check_k, load_embeddings, neighbours_of_item
from isara.stage import entry, params, read_pool


@click.command()
@click.option("--iteration", type=int, required=True)
@click.option("--pool", required=True)
@click.option("--embeddings", required=True)
@click.option("--index", "index_out", required=True, help="annoy index file to write")
@click.option("--out", required=True, help="question-prompt contexts, JSONL")
@click.option("--all-rounds", is_flag=True, help="contexts for all rounds' samples in one go (one-shot baseline)")
@entry
def main(iteration, pool, embeddings, index_out, out, all_rounds):
    p = params()
    count = p.generation.samples_per_iteration * (len(p.iterations) if all_rounds else 1)
    rows = read_pool(pool)
    check_k(p.k, len(rows), pool)
    vectors = load_embeddings(embeddings, len(rows), pool)
    index = build_index(vectors, p.retrieval.n_trees, p.seed)
    rng = random.Random(f"{p.seed}-retrieve-{iteration}")
    contexts = [
        {
            "id": f"it{iteration}-{n:04d}",
            "iteration": iteration,
            "anchor_id": rows[anchor]["id"],
            "context_ids": [rows[i]["id"] for i in neighbours_of_item(index, anchor, p.k)],
        }
        for n, anchor in enumerate(anchors(len(rows), count, rng))
    ]
    with atomic_file(index_out) as tmp:
        index.save(str(tmp))
    write_jsonl(out, contexts)
    click.echo(f"{len(contexts)} contexts of k={p.k} from a pool of {len(rows)} -> {out}")


if __name__ == "__main__":
    main()
