"""Run one suite on one method: its object in the registry (isara.eval.registry)."""

from __future__ import annotations

from isara.eval.context import Context
from isara.eval.registry import SUITES


def run_suite(suite: str, ctx: Context) -> tuple[dict, list[dict]]:
    """(metrics, one row per item with the method's answer and its scores)."""
    return SUITES[suite].run(ctx)
