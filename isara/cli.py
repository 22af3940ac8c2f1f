"""`isara`: commands around the pipeline (the pipeline itself runs with `dvc repro`)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from isara.errors import IsaraError
from isara.files import read_jsonl
from isara.params import load_params


@click.group()
def main():
    """Iterative self-alignment with retrieval-augmented in-context learning."""


@main.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
def check(params_path):
    """Validate params.yaml and the data files it names, before a long run."""
    try:
        p = load_params(params_path)
        seeds = read_jsonl(p.data.seed_file, required=("question", "answer"))
        prompts = read_jsonl(p.data.eval_file, required=("prompt",))
        if p.seed_size > len(seeds):
            raise IsaraError(f"{params_path}: seed_size={p.seed_size} is larger than {p.data.seed_file} ({len(seeds)} pairs)")
        if p.k > p.seed_size:
            raise IsaraError(f"{params_path}: k={p.k} is larger than the seed pool (seed_size={p.seed_size})")
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    click.echo(json.dumps(asdict(p), indent=2))
    click.echo(f"ok: {len(seeds)} seed pairs, {len(prompts)} evaluation prompts, {len(p.iterations)} rounds")


@main.command("tiny-model")
@click.option("--arch", type=click.Choice(["llama", "opt"]), default="llama", show_default=True)
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
@click.option("--model", "model_name", required=True, help="model folder, hub id or packaged alias")
@click.option("--bench", required=True, type=click.Choice(["beavertails", "harm", "xstest", "truthfulqa", "alpaca_eval"]))
@click.option("--judge", "harm_judges", multiple=True, type=click.Choice(["refusal", "classifier", "beaver-dam"]),
              help="harm judge(s) for beavertails/harm (default: judges.harm of params.yaml)")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--judges-dir", default="judges", show_default=True, help="where trained judges and checks live")
@click.option("--out", required=True, help="metrics JSON to write (same format as the pipeline's)")
@click.option("--answers", default=None, help="also write the answers JSONL here")
def evaluate(model_name, bench, harm_judges, params_path, judges_dir, out, answers):
    """Evaluate any model on one benchmark suite outside the DAG."""
    from dataclasses import replace
    from pathlib import Path

    from isara.files import write_json, write_jsonl
    from isara.models import open_model, resolve_device, resolve_dtype
    from isara.prompts import format_for
    from isara.suites import SUITES, Context

    suite = BENCH_ALIASES.get(bench, bench)
    try:
        p = load_params(params_path)
        if harm_judges:
            p = replace(p, judges=replace(p.judges, harm=tuple(harm_judges), check=tuple(
                sorted(set(p.judges.check) | (set(harm_judges) - {"refusal"})))))
        device = resolve_device(p.model.device)
        model, tokenizer = open_model(model_name, device, resolve_dtype(p.model.dtype, device))
        fmt = format_for(tokenizer, p.model.prompt_format)
        result, rows = SUITES[suite](Context(model, tokenizer, fmt, p, set(), Path(judges_dir)))
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    if answers:
        write_jsonl(answers, rows)
    write_json(out, {"iteration": None, "suite": suite, "model": model_name, "prompt_format": fmt.kind, **result})
    click.echo(f"{suite} on {model_name} -> {out}")


@main.command()
@click.option("--metrics", "metrics_dir", default="metrics", show_default=True, help="the pipeline's metrics folder")
@click.option("--work", "work_dir", default="work", show_default=True, help="the pipeline's work folder")
@click.option("--out", default="report", show_default=True, help="report folder to (re)write")
def report(metrics_dir, work_dir, out):
    """Build report/report.md, its PNG figures and the dvc plots data from a run's files."""
    from isara.report_writer import write_report

    try:
        path = write_report(metrics_dir, work_dir, out)
    except IsaraError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"report -> {path}")
