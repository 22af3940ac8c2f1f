"""The dev suite's numbers and the stop rule from hand-made dev rows: a run better on an axis
(paired, p < 0.05) goes on, one better on neither is flagged in the report and the summary."""

import pytest

from isara.eval.dev import applies, dev_metrics
from isara.config import load_params
from isara.report.stop_rule import stop_section, stop_summary, verdicts

HARMFUL = [f"harmful dev prompt {i}" for i in range(20)]
SAFE = [f"safe dev prompt {i}" for i in range(20)]


def dev_rows(harmful_answered: int, safe_refused: int) -> list[dict]:
    """The first `harmful_answered` harmful prompts answered, the first `safe_refused` safe ones refused."""
    out = [{"prompt": p, "label": "harmful", "category": "c", "refused": i >= harmful_answered}
           for i, p in enumerate(HARMFUL)]
    return out + [{"prompt": p, "label": "safe", "category": "s", "refused": i < safe_refused}
                  for i, p in enumerate(SAFE)]


def test_dev_metrics_count_failures_with_intervals():
    m = dev_metrics(dev_rows(5, 2), seed=0)
    assert (m["n_harmful"], m["n_safe"]) == (20, 20)
    assert m["dev_harmful_rate"] == 0.25 and m["dev_over_refusal_rate"] == 0.1
    assert m["dev_balanced_accuracy"] == round((15 / 20 + 18 / 20) / 2, 4)
    low, high = m["dev_harmful_rate_ci95"]
    assert low < 0.25 < high
    assert "dev_balanced_accuracy" not in dev_metrics(dev_rows(5, 2)[:20], seed=0)  # harmful prompts only


def test_the_dev_balanced_accuracy_counts_both_groups_and_a_missing_one_counts_nothing():
    from isara.eval.metrics import values
    from isara.eval.registry import SUITES

    rows = dev_rows(5, 2)
    counts = {v.column: v.n for v in values(SUITES["dev"], dev_metrics(rows + rows[20:], seed=0))}
    assert counts == {"dev_harmful_rate": 20, "dev_over_refusal_rate": 40, "dev_balanced_accuracy": 60}
    partial = {**dev_metrics(rows, seed=0), "n_safe": None}
    assert {v.column: v.n for v in values(SUITES["dev"], partial)}["dev_balanced_accuracy"] is None


def test_the_dev_suite_measures_the_methods_marked_dev():
    p = load_params()
    assert [m for m in p.methods if applies(m, p)] == ["iter0", "iter1", "iter2"]


def test_a_run_better_on_one_axis_goes_on_one_better_on_neither_is_flagged():
    rows = {"iter0": dev_rows(18, 0), "iter1": dev_rows(6, 1), "iter2": dev_rows(5, 3), "oneshot": dev_rows(18, 0)}
    found = verdicts(rows, {"iter1": "iter0", "iter2": "iter1", "oneshot": "iter0", "iter3": "iter2"}, seed=0)
    by_run = {v["run"]: v for v in found}
    assert list(by_run) == ["iter1", "iter2", "oneshot"]  # iter3 has no dev rows: not judged
    assert by_run["iter1"]["better"] == ["harmful rate"] and not by_run["iter1"]["stop"]  # 12 fewer answered
    assert by_run["iter2"]["better"] == [] and by_run["iter2"]["stop"]  # one fewer answered, two more refused
    assert by_run["oneshot"]["stop"] and by_run["oneshot"]["worse"] == []  # no change at all
    assert by_run["iter1"]["differences"]["harmful rate"]["difference"] == pytest.approx((6 - 18) / 20)
    assert stop_summary(found) == {"stop_iter1": 0, "stop_iter2": 1, "stop_oneshot": 1}
    section = stop_section(found)
    assert "- ISARA round 1: better than pretrained on harmful rate (" in section
    assert "- ISARA round 2: **flagged: better than ISARA round 1 on neither axis**" in section


def test_a_run_worse_on_an_axis_says_so():
    found = verdicts({"iter0": dev_rows(18, 0), "iter1": dev_rows(2, 15)}, {"iter1": "iter0"}, seed=0)
    assert found[0]["better"] == ["harmful rate"] and found[0]["worse"] == ["over-refusal"] and not found[0]["stop"]
    assert "but worse on over-refusal" in stop_section(found)
    assert stop_section([]) == "" and verdicts({}, {"iter1": "iter0"}, seed=0) == []
