"""`isara`: commands around the pipeline (the pipeline itself runs with `dvc repro`)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from isara.config import HARM_JUDGES, PROMPTINGS, SUITES, load_params
from isara.config.names import TOKENS_MAX
from isara.errors import IsaraError
from isara.export_gguf import GGUF_TYPES
from isara.tiny import ARCHITECTURES


@click.group()
def main():
    """Iterative self-alignment with retrieval-augmented in-context learning."""


@main.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--dvc", "dvc_path", default="dvc.yaml", show_default=True,
              help="the pipeline whose runs and methods params.yaml must name (skipped when absent)")
@click.option("--verbose", is_flag=True, help="also print the validated parameters, as the stages read them")
def check(params_path, dvc_path, verbose):
    """Validate params.yaml and the data it selects (the seed source, every enabled suite's
    files, the judges' data), before a long run: one line per problem, then one verdict."""
    from isara.preflight import preflight

    outcome = preflight(params_path, dvc_path)
    if verbose and outcome.params is not None:
        click.echo(json.dumps(asdict(outcome.params), indent=2))
    for problem in outcome.problems:
        click.echo(f"problem: {problem}", err=True)
    if outcome.problems:
        raise click.ClickException(f"{params_path}: {len(outcome.problems)} problem(s); nothing was run")
    click.echo(outcome.verdict)


@main.command()
@click.argument("domain")
def init(domain):
    """Start a new DOMAIN: data/DOMAIN/{seed,dev,eval}.jsonl templates and profiles/DOMAIN.yaml."""
    from isara.scaffold import init_domain, next_steps

    try:
        paths = init_domain(domain)
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    click.echo(next_steps(domain, paths))


@main.command("tiny-model")
@click.option("--arch", type=click.Choice(ARCHITECTURES), default="llama", show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False))
def tiny_model(arch, out):
    """Write a tiny random checkpoint (real SmolLM2 tokenizer) for smoke runs: model.name=OUT."""
    from isara.tiny import build_tiny_model

    click.echo(f"tiny {arch} model -> {build_tiny_model(arch, out)}")


@main.command()
@click.argument("name")
@click.option("--apply", "apply_", is_flag=True, help="write the overrides into params.yaml")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
def profile(name, apply_, params_path):
    """Print a profile as `dvc exp run` arguments, or --apply it to params.yaml."""
    from isara.profiles import apply_profile, load_profile, set_args

    try:
        overrides = load_profile(name)
        if apply_:
            apply_profile(params_path, overrides)
            click.echo(f"applied profile {name} to {params_path}: {', '.join(overrides)}")
        else:
            click.echo(" ".join(set_args(overrides)))
    except IsaraError as err:
        raise click.ClickException(str(err)) from None


BENCH_ALIASES = {"beavertails": "harm"}


@main.command()
@click.option("--method", default=None, help="a method of params.yaml's methods table (its model and prompting)")
@click.option("--model", "model_name", default=None, help="or: any model folder, hub id or packaged alias")
@click.option("--prompting", type=click.Choice(PROMPTINGS), default=None,
              help="how --model is prompted (default zero_shot; with --method, the table's)")
@click.option("--bench", type=click.Choice(["beavertails", *SUITES]), default=None,
              help="the suite (required unless --prompts)")
@click.option("--prompts", "prompts_file", default=None, type=click.Path(dir_okay=False),
              help="or: a file of your own prompts (optional reference answers): the domain suite on it")
@click.option("--max-new-tokens", type=click.IntRange(1, TOKENS_MAX), default=None,
              help="answer length, whatever the suite  [default: params.yaml's for the suite]")
@click.option("--judge", "harm_judges", multiple=True, type=click.Choice(HARM_JUDGES),
              help="harm judge(s) for beavertails/harm (default: judges.harm of params.yaml)")
@click.option("--seed", "seed_pool", default="work/iter0/pool.jsonl", show_default=True,
              help="D0: the in-context examples of icl / icl_knn, kept out of evaluation")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--judges-dir", default="judges", show_default=True, help="where trained judges and checks live")
@click.option("--out", required=True, help="metrics JSON to write (same format as the pipeline's)")
@click.option("--answers", default=None, help="also write the answers JSONL here")
def evaluate(method, model_name, prompting, bench, prompts_file, max_new_tokens, harm_judges, seed_pool, params_path,
             judges_dir, out, answers):
    """Evaluate a method of the methods table, or any model, on one suite outside the DAG; the domain
    suite (--prompts) compares with the base model's and sft_seed's answers (models/iter0,
    models/sft_seed), made first."""
    from dataclasses import replace
    from pathlib import Path

    from isara.atomic import write_json, write_jsonl
    from isara.eval.context import load_context
    from isara.eval.run import run_suite

    suite = "domain" if prompts_file else BENCH_ALIASES.get(bench, bench)
    try:
        if (method is None) == (model_name is None):
            raise IsaraError("give either --method (a methods entry of params.yaml) or --model")
        if (bench is None) == (prompts_file is None):
            raise IsaraError("give either --bench (a suite) or --prompts (a file of your own prompts)")
        p = load_params(params_path)
        if prompts_file:
            p = replace(p, data=replace(p.data, domain_file=prompts_file))
        if max_new_tokens:
            p = replace(p, evaluate=replace(p.evaluate, max_new_tokens=max_new_tokens, max_new_tokens_by_suite={}))
        if harm_judges:
            p = replace(p, judges=replace(p.judges, harm=tuple(harm_judges), check=tuple(
                sorted(set(p.judges.check) | (set(harm_judges) - {"refusal"})))))
        if method is not None:
            model_name, own = _method_model(p, params_path, method)
            prompting = prompting or own
        prompting = prompting or "zero_shot"
        ctx = load_context(model_name, prompting, _seed_rows(seed_pool, prompting), p, Path(judges_dir))
        if suite == "domain":
            from isara.eval import domain

            result, rows = domain.evaluate_outside_dag(ctx, method, prompting)
        else:
            result, rows = run_suite(suite, ctx)
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    if answers:
        write_jsonl(answers, rows)
    write_json(out, {"method": method, "suite": suite, "model": model_name, "prompting": prompting,
                     "prompt_format": ctx.fmt.kind, **result})
    click.echo(f"{suite} on {model_name} ({prompting}) -> {out}")


def _seed_rows(path: str, prompting: str) -> list[dict]:
    """D0 from `path`; it may be absent only for zero-shot prompting."""
    from pathlib import Path

    from isara.records import read_pool

    if prompting == "zero_shot" and not Path(path).is_file():
        return []
    return read_pool(path)


def _method_model(p, params_path: str, method: str) -> tuple[str, str]:
    """(model folder, prompting) of a methods entry of params.yaml."""
    if method not in p.methods:
        raise IsaraError(f"{params_path}: methods has no '{method}' (known: {', '.join(p.methods)})")
    return f"models/{method}", p.methods[method].prompting


@main.command()
@click.argument("model", required=False)
@click.option("--method", default=None, help="or: a method of params.yaml's methods table (its model and prompting)")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=None,
              help="cap on each answer  [default: evaluate.max_new_tokens of params.yaml]")
@click.option("--seed", "seed_pool", default="work/iter0/pool.jsonl", show_default=True,
              help="D0: the in-context examples of icl / icl_knn methods")
def chat(model, method, params_path, max_new_tokens, seed_pool):
    """Talk to MODEL (a model folder, packaged alias or hub id) or to --method NAME, one line at a
    time, answered greedily in the method's prompt layout; /reset clears the conversation, /exit or
    end of input (Ctrl-D) ends it."""
    import sys

    from isara.chat import EXIT, RESET, converse, open_chat, read_lines

    try:
        if (method is None) == (model is None):
            raise IsaraError("give either MODEL (a model folder, packaged alias or hub id) or --method")
        p = load_params(params_path)
        model, prompting = _method_model(p, params_path, method) if method else (model, "zero_shot")
        session = open_chat(model, prompting, _seed_rows(seed_pool, prompting), p, max_new_tokens)
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{model} ({prompting}, {session.engine.fmt.kind} layout): {RESET} clears the conversation, "
               f"{EXIT} or Ctrl-D ends it", err=True)
    ask = (lambda: click.echo("> ", nl=False, err=True)) if sys.stdin.isatty() else None
    converse(session, read_lines(sys.stdin, ask), click.echo)


@main.command("export")
@click.argument("model", required=False)
@click.option("--method", default=None, help="or: a method of the pipeline (models/NAME, with its metrics)")
@click.option("--to", "out", required=True, type=click.Path(file_okay=False), help="the folder to write")
@click.option("--metrics", "metrics_dir", default="metrics/methods", show_default=True,
              help="the pipeline's per-method metrics folder (read with --method)")
@click.option("--gguf", is_flag=True, help="also write model.gguf (LLaMA-architecture models)")
@click.option("--gguf-type", type=click.Choice(GGUF_TYPES), default="f16", show_default=True,
              help="the GGUF's weights: float16 (1-D norms float32) or float32")
@click.option("--force", is_flag=True, help="replace a --to folder that is not empty")
def export_command(model, method, out, metrics_dir, gguf, gguf_type, force):
    """Write MODEL (a model folder, adapter folder, packaged alias or hub id) or --method NAME as a
    self-contained Hugging Face folder: merged weights, tokenizer, generation config and a model
    card (base model, data sets, the method's metrics), and with --gguf a GGUF file."""
    from pathlib import Path

    from isara.export import Export, export_model

    try:
        if (method is None) == (model is None):
            raise IsaraError("give either MODEL (a model folder, packaged alias or hub id) or --method")
        if method is not None and not Path("models", method).is_dir():
            raise IsaraError(f"models/{method}: no such model folder (is '{method}' a method the pipeline has built?)")
        job = Export(model or f"models/{method}", Path(out), method or "",
                     Path(metrics_dir, method) if method else None, Path("dvc.lock") if method else None,
                     gguf_type if gguf else None, force)
        path = export_model(job)
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{job.model} -> {path}" + (" (with model.gguf)" if gguf else ""))


@main.command()
@click.option("--metrics", "metrics_dir", default="metrics/methods", show_default=True,
              help="the pipeline's per-method metrics folder")
@click.option("--work", "work_dir", default="work", show_default=True, help="the pipeline's work folder")
@click.option("--out", default="report", show_default=True, help="report folder to (re)write")
@click.option("--summary", "summary_path", default="metrics/summary.json", show_default=True,
              help="the flat summary to (re)write")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--all", "all_files", is_flag=True, help="also read files whose stages are not up to date")
def report(metrics_dir, work_dir, out, summary_path, params_path, all_files):
    """Build report/report.md, its PNG figures, the dvc plots data and metrics/summary.json from a
    run's files, leaving out those whose stages are not up to date (dvc status) unless --all."""
    from pathlib import Path

    from isara.eval.metrics import RUN_FILES
    from isara.report.write import write_report
    from isara.stale import stale_outputs

    try:
        p = load_params(params_path)
        stale = set() if all_files else stale_outputs()
        path = write_report(metrics_dir, work_dir, out, p, summary_path=summary_path, stale=stale)
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    read = (*p.evaluate.suites, *RUN_FILES)  # what the report reads of a method's metrics
    left_out = sorted({Path(f).parent.name for f in stale if Path(f).is_file() and Path(f).stem in read} & set(p.methods))
    if left_out:
        click.echo(f"left out, their stages not up to date (dvc status): the files of {', '.join(left_out)} "
                   "that an earlier run wrote", err=True)
    click.echo(f"report -> {path}")
