"""Write new questions and answers with the previous round's model, from retrieved examples only.

    python stages/generate.py --iteration 1 --model models/iter0 --pool work/iter0/pool.jsonl \
        --embeddings work/iter1/embeddings.npy --index work/iter1/pool.ann \
        --contexts work/iter1/contexts.jsonl --out work/iter1/candidates.jsonl
"""

import click

from isara.embedding import embed, load_embedder
from isara.files import read_jsonl, write_jsonl
from isara.retrieval import check_k, load_embeddings, load_index, neighbours_of_vector
from isara.stage import entry, load_round_model, params, read_pool
from isara.synthesis import generate_candidates


@click.command()
@click.option("--iteration", type=int, required=True)
@click.option("--model", "model_dir", required=True, help="model of the previous round")
@click.option("--pool", required=True)
@click.option("--embeddings", required=True, help="pool embeddings (for the index's dimension)")
@click.option("--index", required=True, help="annoy index over the pool")
@click.option("--contexts", required=True, help="question-prompt contexts from retrieve")
@click.option("--out", required=True, help="candidate pairs with provenance, JSONL")
@entry
def main(iteration, model_dir, pool, embeddings, index, contexts, out):
    p = params()
    rows = read_pool(pool)
    check_k(p.k, len(rows), pool)
    contexts = read_jsonl(contexts, required=("id",))
    knn = load_index(index, load_embeddings(embeddings, len(rows), pool).shape[1])
    model, tokenizer, fmt = load_round_model(model_dir, p)
    embedder = load_embedder(p.embedder.name, str(model.device))
    candidates = generate_candidates(
        model, tokenizer, fmt, rows, contexts,
        nearest=lambda vector: neighbours_of_vector(knn, vector, p.k),
        embed_questions=lambda texts: embed(embedder, texts, p.embedder.batch_size),
        p=p, iteration=iteration,
    )
    write_jsonl(out, candidates)
    answered = sum(1 for row in candidates if row["answer"])
    click.echo(f"round {iteration}: {len(candidates)} questions, {answered} answered ({fmt.kind} format) -> {out}")


if __name__ == "__main__":
    main()
