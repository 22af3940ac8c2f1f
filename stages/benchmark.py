"""Run one benchmark suite on one method's model and prompting.

    python stages/benchmark.py --method iter1 --iteration 1 --suite harm --model models/iter1 \
        --seed work/iter0/pool.jsonl --answers reports/iter1/harm.jsonl --metrics metrics/iter1/harm.json

Suites (isara/suites.py): harm | xstest | truthfulqa | alpaca_eval, on benchmarks.source.
"""

import click

from isara.filtering import normalise
from isara.files import write_json, write_jsonl
from isara.stage import entry, load_method, method_options, params, read_pool
from isara.suites import SUITES, Context


@click.command()
@method_options
@click.option("--suite", type=click.Choice(sorted(SUITES)), required=True)
@click.option("--model", "model_dir", required=True)
@click.option("--seed", "seed_pool", required=True, help="D0 (its questions are kept out of evaluation)")
@click.option("--answers", required=True, help="the model's answers with per-item scores, JSONL")
@click.option("--metrics", required=True, help="metrics JSON")
@entry
def main(method, iteration, prompting, suite, model_dir, seed_pool, answers, metrics):
    p = params()
    seed_rows = read_pool(seed_pool)
    seed_questions = {normalise(row["question"]) for row in seed_rows}
    model, tokenizer, fmt, prompter = load_method(model_dir, prompting, seed_rows, p)
    result, rows = SUITES[suite](Context(model, tokenizer, fmt, p, seed_questions, prompter=prompter))
    write_jsonl(answers, rows)
    write_json(metrics, {"method": method, "iteration": iteration, "prompting": prompting, "suite": suite,
                         "model": model_dir, "prompt_format": fmt.kind, **result})
    click.echo(f"{method}: {suite} -> {metrics}")


if __name__ == "__main__":
    main()
