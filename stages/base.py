"""Make the base model loadable by every stage as `models/iter0`.

    python stages/base.py --out models/iter0

A packaged GGUF model is de-quantized once into a plain checkpoint; a hub id or a local folder is
only referenced (no copy of large weights in the DVC cache). See isara/loop/base.py.
"""

import click

from isara.atomic import atomic_dir
from isara.config import load_params
from isara.loop.base import materialize_base
from isara.stage import entry


@click.command()
@click.option("--out", required=True, help="model folder to write")
@entry
def main(out):
    p = load_params()
    with atomic_dir(out) as tmp:
        info = materialize_base(p.model.name, tmp)
    click.echo(f"base model {info['source']} ({info['kind']}) -> {out}")


if __name__ == "__main__":
    main()
