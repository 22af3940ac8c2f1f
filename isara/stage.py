"""What every stage entry point shares: a clean one-line error instead of a traceback, for bad
input (IsaraError) and for a file system that refuses (a read-only folder, a full disk)."""

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
        except OSError as err:  # PermissionError, no space left, read-only file system ...
            where = f"{err.filename}: " if err.filename else ""
            click.echo(f"error: {where}{err.strerror or err}", err=True)
            sys.exit(1)

    return wrapper
