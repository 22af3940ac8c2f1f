"""Embed the questions of a run's starting pool with the sentence encoder.

    python stages/embed.py --pool work/iter0/pool.jsonl --out work/iter1/embeddings.npy
"""

import click

from isara.config import load_params
from isara.devices import resolve_device
from isara.embedder import encoder
from isara.loop.embed import embed_pool, save_embeddings
from isara.records import read_pool
from isara.stage import entry


@click.command()
@click.option("--pool", required=True, help="pool JSONL (D0 plus samples accepted so far)")
@click.option("--out", required=True, help=".npy of L2-normalised embeddings, one row per pool row")
@entry
def main(pool, out):
    p = load_params()
    rows = read_pool(pool)
    vectors = embed_pool(rows, encoder(p.embedder.name, resolve_device(p.model.device), p.embedder.batch_size))
    save_embeddings(out, vectors)
    click.echo(f"embedded {len(rows)} pool questions ({vectors.shape[1]}-d) -> {out}")


if __name__ == "__main__":
    main()
