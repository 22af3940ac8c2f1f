"""Every evaluation suite, by name, in report order: what the evaluate stage runs and whose
declarations the report's tables and metrics/summary.json iterate. One line per suite (its object:
isara/eval/<name>.py).

Params validation cannot import the suites (isara/config lies beneath isara/eval, and `isara check`
stays light), so it reads the names and default eval limits from isara.config.names.SUITES; dvc.yaml's
evaluate matrix writes the same names out (stage names never come from a params value). Both must
equal this registry's: tests/test_registry.py checks it, and stage `check` refuses a dvc.yaml
whose matrix differs from isara.config.names.SUITES.
"""

from __future__ import annotations

from isara.eval import alpaca_eval, dev, domain, harm, reward, truthfulqa, xstest
from isara.eval.suite import Suite

SUITES: dict[str, Suite] = {suite.name: suite for suite in (
    harm.SUITE,
    xstest.SUITE,
    truthfulqa.SUITE,
    alpaca_eval.SUITE,
    reward.SUITE,
    dev.SUITE,
    domain.SUITE,
)}

