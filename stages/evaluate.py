"""Run one evaluation suite on one method: its model prompted as the methods table says.

    python stages/evaluate.py --method iter1 --suite harm --seed work/iter0/pool.jsonl \
        --answers reports/iter1/harm.jsonl --metrics metrics/methods/iter1/harm.json

The method's model is models/<method> (for icl and icl_knn a reference to models/iter0); a suite is
one object of isara/eval/registry.py (isara/eval/<suite>.py). Finished answer batches are
kept in ANSWERS.partial/ as they come, so a re-run after a crash continues from them. A suite that
evaluate.suites does not select, or that does not measure the method (the dev suite measures the
methods marked `dev: true`), gets an empty answers file and an empty metrics file, at once: dvc.yaml names
every suite's stages, so that no params value ever names an output.
"""

import click

from isara.atomic import write_json, write_jsonl
from isara.config import SUITES, load_params
from isara.errors import IsaraError
from isara.stage import entry


@click.command()
@click.option("--method", required=True, help="a key of methods in params.yaml")
@click.option("--suite", type=click.Choice(SUITES), required=True)
@click.option("--seed", "seed_pool", required=True, help="D0: in-context examples, kept out of evaluation")
@click.option("--answers", required=True, help="the method's answers with per-item scores, JSONL")
@click.option("--metrics", required=True, help="metrics JSON")
@entry
def main(method, suite, seed_pool, answers, metrics):
    p = load_params()
    if method not in p.methods:
        raise IsaraError(f"params.yaml: methods has no '{method}' (known: {', '.join(p.methods)})")
    why = "is not in evaluate.suites" if suite not in p.evaluate.suites else None
    if why is None:
        from isara.eval.registry import SUITES as REGISTRY  # the suites import torch: only for a selected one

        why = None if REGISTRY[suite].applies(method, p) else "does not measure this method"
    if why:
        write_jsonl(answers, [])
        write_json(metrics, {})
        click.echo(f"{method}: {suite} {why}: placeholder -> {metrics}")
        return
    from isara.eval.context import load_context
    from isara.eval.run import run_suite
    from isara.lm.partial import partial_path, remove_partial
    from isara.records import read_pool

    prompting = p.methods[method].prompting
    model_dir = f"models/{method}"
    log = partial_path(answers)
    ctx = load_context(model_dir, prompting, read_pool(seed_pool), p, log_dir=log)
    result, rows = run_suite(suite, ctx)
    write_jsonl(answers, rows)
    write_json(metrics, {"method": method, "suite": suite, "model": model_dir, "prompting": prompting,
                         "prompt_format": ctx.fmt.kind, **result})
    remove_partial(log)
    click.echo(f"{method}: {suite} -> {metrics}")


if __name__ == "__main__":
    main()
