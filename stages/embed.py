"""Embed the questions of the current pool with the sentence encoder.

    python stages/embed.py --pool work/iter0/pool.jsonl --out work/iter1/embeddings.npy
"""

import click
import numpy as np

from isara.embedding import embed, load_embedder
from isara.files import atomic_file
from isara.models import resolve_device
from isara.stage import entry, params, read_pool


@click.command()
@click.option("--pool", required=True, help="pool JSONL (D0 plus samples accepted so far)")
@click.option("--out", required=True, help=".npy of L2-normalised embeddings, one row per pool row")
@entry
def main(pool, out):
    p = params()
    rows = read_pool(pool)
    embedder = load_embedder(p.embedder.name, str(resolve_device(p.model.device)))
    vectors = embed(embedder, [row["question"] for row in rows], p.embedder.batch_size)
    with atomic_file(out) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, vectors)
    click.echo(f"embedded {len(rows)} pool questions ({vectors.shape[1]}-d) -> {out}")


if __name__ == "__main__":
    main()
