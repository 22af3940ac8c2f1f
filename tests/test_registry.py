"""The suite registry: one object per suite (isara/eval/<name>.py), listed once in
isara/eval/registry.py; params validation (isara.config.names.SUITES), the suites' inputs
(isara.eval.inputs.INPUTS) and dvc.yaml's evaluate matrix name the same suites in the same order. A
toy suite registered in those places is validated, fingerprinted, run, declared, reported and
summarised like the built-in ones."""

from __future__ import annotations

import importlib
import json

import pytest

from isara.config import load_params, names
from isara.config.pipeline import check_pipeline, read_pipeline
from isara.errors import IsaraError
from isara.eval import inputs as eval_inputs
from isara.eval import registry
from isara.eval.inputs import Inputs
from isara.eval.metrics import Metric
from isara.eval.suite import Suite
from tests.conftest import ROOT, set_params


def test_every_registry_names_the_same_suites_in_the_same_order():
    assert list(registry.SUITES) == list(names.SUITES) == list(eval_inputs.INPUTS)
    assert list(read_pipeline(ROOT / "dvc.yaml").suites) == list(registry.SUITES)


@pytest.mark.parametrize("name", list(registry.SUITES))
def test_each_suite_lives_in_its_own_module_and_owns_its_inputs(name):
    suite = registry.SUITES[name]
    assert suite.name == name and importlib.import_module(f"isara.eval.{name}").SUITE is suite
    assert suite.inputs is eval_inputs.INPUTS[name] and suite.title and suite.metrics and suite.rows


def test_the_default_eval_limits_are_the_registry_s():
    p = load_params(ROOT / "params.yaml")
    assert p.evaluate.eval_limit == dict(names.SUITES)
    assert all(registry.SUITES[name].limit(p) == limit for name, limit in names.SUITES.items())


def _toy_run(ctx):
    items = TOY.items(ctx.p)["toy"][: TOY.limit(ctx.p)]
    return {"n": len(items), "score": 0.25}, [{"prompt": r["prompt"], "answer": "ok"} for r in items]


TOY = Suite("toy", "A toy suite", Inputs(lambda p: {"toy": [{"prompt": "say ok"}, {"prompt": "say no"}]},
                                         lambda p: [(p.data.eval_file, "")]),
            _toy_run, {"prompt": "the prompt", "answer": "the answer"},
            (Metric("score", "toy_score", "exact match", "n", True),), summary=("score",))


@pytest.fixture
def toy(monkeypatch):
    """Adding a suite: its object (here TOY, in a new isara/eval/toy.py), its line in the registry,
    its default eval limit beside its name for params validation, and its inputs."""
    monkeypatch.setitem(registry.SUITES, "toy", TOY)
    monkeypatch.setitem(names.SUITES, "toy", 1)
    monkeypatch.setitem(eval_inputs.INPUTS, "toy", TOY.inputs)
    return TOY


def _params(tmp_path, changes):
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    set_params(path, changes)
    return load_params(path)


def test_a_registered_suite_is_validated_by_params(toy, tmp_path):
    p = _params(tmp_path, {"evaluate.suites": ["harm", "toy"]})
    assert p.evaluate.suites == ("harm", "toy") and toy.limit(p) == 1  # its default
    assert _params(tmp_path, {"evaluate.eval_limit.toy": 2}).evaluate.eval_limit["toy"] == 2
    with pytest.raises(IsaraError, match=r"evaluate.eval_limit.toy must be an integer in \[0, \d+\], got -1$"):
        _params(tmp_path, {"evaluate.eval_limit.toy": -1})


def test_an_unregistered_suite_is_refused_in_one_line(tmp_path):
    with pytest.raises(IsaraError, match=r"evaluate.suites\[\] must be one of harm, xstest, truthfulqa, "
                                         r"alpaca_eval, reward, dev, domain, got 'toy'$"):
        _params(tmp_path, {"evaluate.suites": ["toy"]})
    with pytest.raises(IsaraError, match=r"unknown key 'evaluate.eval_limit.toy'$"):
        _params(tmp_path, {"evaluate.eval_limit.toy": 2})


def test_a_registered_suite_must_be_in_the_evaluate_matrix(toy, tmp_path):
    p = _params(tmp_path, {"evaluate.suites": ["toy"]})
    with pytest.raises(IsaraError, match="the suite stages must be exactly harm, xstest, truthfulqa, alpaca_eval, "
                                         "reward, dev, domain, toy"):
        check_pipeline(p, read_pipeline(ROOT / "dvc.yaml"))
    dvc = tmp_path / "dvc.yaml"
    matrix = "suite: [harm, xstest, truthfulqa, alpaca_eval, reward, dev, domain"
    dvc.write_text((ROOT / "dvc.yaml").read_text().replace(matrix + "]", matrix + ", toy]"))
    check_pipeline(p, read_pipeline(dvc))


def test_a_registered_suite_is_read_run_declared_and_reported(toy, tmp_path):
    from isara.eval.context import Context
    from isara.eval.run import run_suite
    from isara.input_fingerprints import reads
    from isara.report.table import flatten
    from isara.report.write import write_report

    p = _params(tmp_path, {"evaluate.suites": ["harm", "toy"], "evaluate.eval_limit.toy": 2})
    assert reads(p)["toy"] == [(p.data.eval_file, "")]  # fingerprinted by stage check
    assert ("toy", "say no") in eval_inputs.evaluation_prompts(p)  # kept apart from judge data and the audit
    metrics, rows = run_suite("toy", Context(None, p, set()))
    assert metrics == {"n": 2, "score": 0.25} and all(set(row) == set(toy.rows) for row in rows)
    assert flatten({"toy": metrics})["toy_score"].value == 0.25
    (tmp_path / "metrics/iter1").mkdir(parents=True)
    (tmp_path / "metrics/iter1/toy.json").write_text(json.dumps(metrics))
    report = write_report(tmp_path / "metrics", tmp_path / "work", tmp_path / "report", p,
                          tmp_path / "reports", tmp_path / "judges", tmp_path / "summary.json").read_text()
    assert "| method | toy_score |" in report and "| ISARA round 1 | 0.250 |" in report
    assert "| toy_score | higher | exact match | 2 |" in report
    assert json.loads((tmp_path / "summary.json").read_text()) == {"score_iter1": 0.25}
