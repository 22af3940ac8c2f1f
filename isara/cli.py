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
