"""One evaluation suite as one object (as nanochat's `Task`, or an lm-evaluation-harness task
config): its name, what it reads, its eval limit, how it runs on a method, the rows it writes per
item and the numbers of its metrics file. Each suite is one `Suite` in isara/eval/<name>.py, and
isara/eval/registry.py lists them.

A suite's name is its key everywhere: `evaluate.suites`, `evaluate.eval_limit.<name>` (its default in
isara.config.names.SUITES, which params validation reads), dvc.yaml's evaluate matrix (stage
`evaluate@<method>-<name>`), `work/check/<name>.json`, `metrics/methods/<method>/<name>.json` and
`reports/<method>/<name>.jsonl`. A suite measures every method unless its `applies` says otherwise
(the dev suite measures the methods marked `dev: true`); the others get an empty file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from isara.eval.inputs import Inputs
from isara.eval.metrics import Metric

if TYPE_CHECKING:
    from isara.config import Params
    from isara.eval.context import Context


@dataclass(frozen=True)
class Suite:
    name: str
    title: str  # what it measures, in a line
    inputs: Inputs  # its item lists and the files they come from (isara.eval.inputs)
    run: Callable[[Context], tuple[dict, list[dict]]]  # (metrics, one row per item) of one method
    rows: dict[str, str]  # the fields of each per-item row (reports/<method>/<name>.jsonl) -> what each holds
    metrics: tuple[Metric, ...]  # the numbers of its metrics file the report shows (isara.eval.metrics)
    summary: tuple[str, ...] = ()  # keys of its metrics file copied into metrics/summary.json as <key>_<method>
    applies: Callable[[str, Params], bool] = lambda method, p: True  # whether it measures a method

    def items(self, p: Params) -> dict[str, list[dict]]:
        """Every item list it reads, by name, before its eval limit."""
        return self.inputs.items(p)

    def limit(self, p: Params) -> int:
        """Items it evaluates per item list (evaluate.eval_limit.<name>; 0 = all)."""
        return p.evaluate.eval_limit[self.name]
