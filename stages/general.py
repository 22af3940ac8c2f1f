"""Draw the general instruction pairs every training mix takes in (`mix.general_size`; 0 writes no
rows and reads nothing).

    python stages/general.py --seed work/iter0/pool.jsonl --out work/iter0/general.json

The Self-Instruct seed tasks under benchmarks.source, less D0's questions, over-long pairs and
instructions too close to an evaluation or dev prompt (the filter's contamination rule), drawn with
`seed`: isara/loop/general.py.
"""

import click

from isara.atomic import write_json
from isara.config import load_params
from isara.stage import entry


@click.command()
@click.option("--seed", "seed_pool", required=True, help="D0")
@click.option("--out", required=True, help="the general pairs, JSON")
@entry
def main(seed_pool, out):
    p = load_params()
    if not p.mix.general_size:
        write_json(out, {"rows": []})
        click.echo(f"general pairs: none (mix.general_size 0) -> {out}")
        return
    from isara import datasets
    from isara.devices import resolve_device
    from isara.embedder import encoder
    from isara.eval.inputs import evaluation_prompts
    from isara.loop.audit import audit_rows
    from isara.loop.filter import is_contaminated
    from isara.loop.general import candidates, draw_general
    from isara.records import read_pool

    seed = read_pool(seed_pool)
    where = f"Self-Instruct seed tasks ({p.benchmarks.source})"
    rows = candidates(datasets.self_instruct(p.benchmarks.source), seed, p.finetune.max_length)
    prompts = [(name, text) for name, text in evaluation_prompts(p) if text.strip()]
    encode = encoder(p.embedder.name, resolve_device(p.model.device), p.embedder.batch_size)
    questions = encode([row["question"] for row in rows])
    audits = audit_rows(rows, questions, prompts, encode([text for _, text in prompts]))  # contamination only
    contaminated = [is_contaminated(audit, p.filter) for audit in audits]
    drawn = draw_general(rows, contaminated, p.mix.general_size, p.seed, where)
    write_json(out, {"source": where, "candidates": len(rows), "contaminated": sum(contaminated), "rows": drawn})
    click.echo(f"general pairs: {len(drawn)} of {len(rows)} from {where} ({sum(contaminated)} too close to an "
               f"evaluation prompt) -> {out}")


if __name__ == "__main__":
    main()
