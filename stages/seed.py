"""Draw D0: `seed_size` pairs sampled reproducibly (by `seed`) from data.seed_file.

    python stages/seed.py --out work/iter0/pool.jsonl
"""

import random

import click

from isara.errors import IsaraError
from isara.files import read_jsonl, write_jsonl
from isara.stage import entry, params


@click.command()
@click.option("--out", required=True, help="pool of round 0 (= D0), JSONL")
@entry
def main(out):
    p = params()
    rows = read_jsonl(p.data.seed_file, required=("question", "answer"))
    if p.seed_size > len(rows):
        raise IsaraError(
            f"params.yaml: seed_size={p.seed_size} is larger than {p.data.seed_file} ({len(rows)} pairs)"
        )
    picked = sorted(random.Random(p.seed).sample(range(len(rows)), p.seed_size))
    write_jsonl(
        out,
        (
            {"id": str(rows[i].get("id", f"seed-{i:04d}")), "question": rows[i]["question"],
             "answer": rows[i]["answer"], "source": "seed"}
            for i in picked
        ),
    )
    click.echo(f"D0: {len(picked)} of {len(rows)} pairs from {p.data.seed_file} -> {out}")


if __name__ == "__main__":
    main()
