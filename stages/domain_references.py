"""The baselines' answers to a domain's prompts, written once for every method's domain stage:

    python stages/domain_references.py --out work/domain/references.jsonl

models/iter0 (the base model) and models/sft_seed answer data.domain_file's prompts zero-shot, as
the domain suite answers with each method (isara/eval/domain.py), which then judges every method's
answers against them. Without domain in evaluate.suites the file is empty, at once.
"""

import click

from isara.atomic import write_jsonl
from isara.config import load_params
from isara.stage import entry


@click.command()
@click.option("--out", required=True, help="JSONL: each domain prompt with every baseline's answer")
@entry
def main(out):
    p = load_params()
    if "domain" not in p.evaluate.suites:
        write_jsonl(out, [])
        click.echo(f"domain is not in evaluate.suites: placeholder -> {out}")
        return
    from isara.eval.domain import baseline_answers

    rows = baseline_answers(p)
    write_jsonl(out, rows)
    click.echo(f"baseline answers to {len(rows)} domain prompts -> {out}")


if __name__ == "__main__":
    main()
