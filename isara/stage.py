"""What every stage entry point shares: clean errors, params, pools and devices."""

from __future__ import annotations

import functools
import os
import sys

import click

from isara.errors import IsaraError
from isara.files import read_jsonl
from isara.params import Params, load_params

POOL_FIELDS = ("id", "question", "answer")


def entry(fn):
    """Run a stage body; an IsaraError becomes one `error: ...` line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            return fn(*args, **kwargs)
        except IsaraError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)

    return wrapper


def params(path: str = "params.yaml") -> Params:
    return load_params(path)


def read_pool(path) -> list[dict]:
    return read_jsonl(path, required=POOL_FIELDS)


def method_options(fn):
    """The options naming what an evaluation stage measures: method, ISARA round, prompting."""
    from isara.prompting import PROMPTINGS

    fn = click.option("--prompting", type=click.Choice(PROMPTINGS), default="zero_shot", show_default=True)(fn)
    fn = click.option("--iteration", type=int, default=None,
                      help="the ISARA round (0 for the base model); none for a baseline")(fn)
    return click.option("--method", required=True,
                        help="name in the report: iter0 (the pretrained model), iter1, icl, ...")(fn)


def load_method(model_dir, prompting: str, seed_rows: list[dict], p: Params):
    """(model, tokenizer, prompt format, question -> prompt) of a method to evaluate."""
    from isara.prompting import prompter_for

    model, tokenizer, fmt = load_round_model(model_dir, p)
    return model, tokenizer, fmt, prompter_for(prompting, fmt, seed_rows, p, model.device)


def load_round_model(model_dir, p: Params):
    """(model, tokenizer, prompt format) on the device and dtype params ask for."""
    # Imported here so that stages without a model (seed, filter, mix) start without torch.
    from isara.models import load_model, resolve_device, resolve_dtype
    from isara.prompts import format_for

    device = resolve_device(p.model.device)
    model, tokenizer = load_model(model_dir, device, resolve_dtype(p.model.dtype, device))
    return model, tokenizer, format_for(tokenizer, p.model.prompt_format)
