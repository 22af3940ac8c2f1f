"""Write new questions and answers with the model a run starts from, from retrieved examples only.

    python stages/generate.py --run iter1 --model models/iter0 --pool work/iter0/pool.jsonl \
        --embeddings work/iter1/embeddings.npy --index work/iter1/pool.ann --search work/iter1/search.json \
        --contexts work/iter1/contexts.jsonl --out work/iter1/candidates.jsonl

Each new question's answer examples are its k nearest pool examples, searched as retrieve chose
(--search: exact, or the annoy index with its calibrated search_k).

With generation.by_label and a labelled pool, each new question's label is its nearest labelled D0
questions' majority, and its answer examples are the nearest of that label (isara/labels.py).

Finished batches are kept in OUT.partial/ as they come; a re-run after a crash continues from
them, and the folder is removed once OUT is written.
"""

import click

from isara.atomic import write_jsonl
from isara.config import load_params
from isara.embedder import encoder
from isara.lm.engine import generation_engine
from isara.lm.partial import partial_path, remove_partial
from isara.loop.embed import load_embeddings
from isara.loop.generate import generate_candidates, prompt_judge
from isara.loop.retrieve import label_masks
from isara.records import read_jsonl, read_pool
from isara.retrieval import check_k, open_retriever, unit_rows
from isara.stage import entry


@click.command()
@click.option("--run", "run_name", required=True, help="the run (a key of runs in params.yaml)")
@click.option("--model", "model_dir", required=True, help="the model the run starts from")
@click.option("--pool", required=True)
@click.option("--embeddings", required=True, help="pool embeddings")
@click.option("--index", required=True, help="annoy index over the pool")
@click.option("--search", required=True, help="how retrieve chose to search the pool (JSON)")
@click.option("--contexts", required=True, help="question-prompt contexts from retrieve")
@click.option("--out", required=True, help="candidate pairs with provenance, JSONL")
@entry
def main(run_name, model_dir, pool, embeddings, index, search, contexts, out):
    p = load_params()
    rows = read_pool(pool)
    check_k(p.k, len(rows), pool)
    contexts = read_jsonl(contexts, required=("id",))
    knn = open_retriever(unit_rows(load_embeddings(embeddings, len(rows), pool), embeddings), search, index, p.k)
    labelled = label_masks(rows) if p.generation.by_label else None
    engine = generation_engine(model_dir, p)
    log = partial_path(out)
    candidates = generate_candidates(
        engine, rows, contexts,
        nearest=lambda vector, label: knn.neighbours_of_vector(vector, p.k, labelled and labelled[label]),
        embed_questions=encoder(p.embedder.name, engine.device, p.embedder.batch_size),
        p=p, iteration=p.round_of(run_name), log_dir=log,
        judge=labelled and prompt_judge(rows, knn.vectors, p.generation.label_k, p.generation.harmful_at),
    )
    write_jsonl(out, candidates)
    remove_partial(log)
    answered = sum(1 for row in candidates if row["answer"])
    click.echo(f"{run_name}: {len(candidates)} questions, {answered} answered ({engine.fmt.kind} format) -> {out}")


if __name__ == "__main__":
    main()
