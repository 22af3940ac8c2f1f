"""Run one suite on one method: the suite name -> its runner (declarations: isara.eval.suites)."""

from __future__ import annotations

from typing import Callable

from isara.eval import alpaca_eval, harm, reward, truthfulqa, xstest
from isara.eval.context import Context

RUNNERS: dict[str, Callable[[Context], tuple[dict, list[dict]]]] = {
    "harm": harm.run,
    "xstest": xstest.run,
    "truthfulqa": truthfulqa.run,
    "alpaca_eval": alpaca_eval.run,
    "reward": reward.run,
}


def run_suite(suite: str, ctx: Context) -> tuple[dict, list[dict]]:
    """(metrics, one row per item with the method's answer and its scores)."""
    return RUNNERS[suite](ctx)
