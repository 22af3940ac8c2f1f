"""What every stage entry point shares: a clean one-line error instead of a traceback."""

from __future__ import annotations

import functools
import os
import sys

import click

from isara.errors import IsaraError


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
