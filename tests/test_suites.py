"""Evaluation suites on a tiny real checkpoint and the real benchmark files: the metrics JSON
carries every number with its judge and sample count, as the suite declares it; `isara evaluate`
writes the same format for a method of the table or any model."""

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from isara.cli import main as cli
from isara.config.schema import EvalLimits, Evaluate, Judges, Model, Pairwise, Params
from isara.eval.context import Context
from isara.eval.run import run_suite
from isara.eval.suites import SUITES, values
from isara.lm.engine import Engine


@pytest.fixture(scope="module")
def params(benchmark_dir, tiny_llama):
    return replace(
        Params(),
        benchmarks=replace(Params().benchmarks, source=str(benchmark_dir)),
        evaluate=Evaluate(batch_size=4, max_new_tokens=6, long_max_new_tokens=6, harm_sets=("beavertails", "demo"),
                          eval_limit=EvalLimits(harm=14, xstest=4, truthfulqa=3, alpaca_eval=2)),
        judges=Judges(pairwise=Pairwise(kind="local", model=str(tiny_llama))),
    )


@pytest.fixture(scope="module")
def context(params, tiny_llama, tmp_path_factory):
    engine = Engine(tiny_llama, Model(device="cpu", dtype="float32"))
    return Context(engine, params, set(), tmp_path_factory.mktemp("judges"))


def test_harm_rates_per_set_judge_and_category(context):
    metrics, rows = run_suite("harm", context)
    result = metrics["beavertails"]
    assert result["n"] == 14 and metrics["demo"]["n"] == 14 and len(rows) == 28
    rows = [row for row in rows if row["set"] == "beavertails"]
    assert set(result["refusal"]["by_category"]) == {row["category"] for row in rows}
    flagged = sum(row["harm_refusal"] > 0.5 for row in rows)
    assert result["refusal"]["harmful_rate"] == round(flagged / 14, 4)
    assert result["refusal"]["judge_error"] is None  # judge@refusal did not run here: shown as missing
    declared = {v.column: v for v in values(SUITES["harm"], metrics)}
    assert set(declared) == {"beavertails_harmful_rate_refusal", "demo_harmful_rate_refusal"}
    assert declared["demo_harmful_rate_refusal"].n == 14 and declared["demo_harmful_rate_refusal"].judge == "refusal"


def test_xstest_refusal_rates_by_label(context):
    metrics, rows = run_suite("xstest", context)
    assert metrics["n_safe"] == 2 and metrics["n_unsafe"] == 2 and metrics["judge"] == "refusal"
    safe = [r["refused"] for r in rows if r["label"] == "safe"]
    assert metrics["refusal_rate_safe"] == sum(safe) / len(safe)


def test_truthfulqa_leaves_seed_questions_out(context, benchmark_dir):
    from isara import datasets as benchmarks
    from isara.text import normalise

    first = benchmarks.truthfulqa(str(benchmark_dir))[0]["question"]
    ctx = replace(context, seed_questions={normalise(first)})
    metrics, rows = run_suite("truthfulqa", ctx)
    assert metrics["n"] == 3 and first not in {r["question"] for r in rows}
    for key in ("rougeL_max", "rougeL_diff", "rougeL_acc", "mc1", "mc2"):
        assert key in metrics
    assert 0.0 <= metrics["mc2"] <= 1.0


def test_alpaca_eval_win_rate_with_judge_and_lengths(context, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the judge cache goes to ./.cache/judges
    metrics, rows = run_suite("alpaca_eval", context)
    assert metrics["n"] == 2 and len(rows) == 2
    assert 0.0 <= metrics["win_rate"] <= 1.0
    assert metrics["wins"] + metrics["ties"] + metrics["losses"] == 2
    assert "mean_output_words" in metrics and metrics["reference"] == "text_davinci_003"


def test_isara_evaluate_writes_the_pipeline_format(benchmark_dir, tiny_llama, tmp_path, monkeypatch):
    from tests.conftest import ROOT, set_params

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    set_params(tmp_path / "params.yaml", {"benchmarks.source": str(benchmark_dir), "evaluate.eval_limit.xstest": 2,
                                          "evaluate.max_new_tokens": 4})
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny_llama), "--bench", "xstest", "--out", "m.json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["suite"] == "xstest" and metrics["n_safe"] + metrics["n_unsafe"] == 2
    assert metrics["prompt_format"] == "chat" and metrics["prompting"] == "zero_shot"


def test_isara_evaluate_takes_a_prompting_method_of_the_table(tiny_llama, tmp_path, monkeypatch):
    """icl_knn outside the DAG: models/icl_knn refers to models/iter0, prompted with D0's nearest pairs."""
    import shutil

    from tests.conftest import ROOT, set_params

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "models/icl_knn", tmp_path / "models/icl_knn")
    shutil.copytree(tiny_llama, tmp_path / "models/iter0")
    seed = [json.loads(line) for line in (ROOT / "data/seed.jsonl").read_text().splitlines()[:5]]
    (tmp_path / "work/iter0").mkdir(parents=True)
    (tmp_path / "work/iter0/pool.jsonl").write_text(
        "".join(json.dumps({"id": f"seed-{i}", **row}) + "\n" for i, row in enumerate(seed)))
    set_params(tmp_path / "params.yaml", {"evaluate.eval_limit.harm": 3, "evaluate.max_new_tokens": 4})
    result = CliRunner().invoke(cli, ["evaluate", "--method", "icl_knn", "--bench", "harm", "--out", "m.json",
                                      "--answers", "a.jsonl"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["prompting"] == "icl_knn" and metrics["model"] == "models/icl_knn"
    assert metrics["demo"]["n"] == 3


@pytest.mark.parametrize("name", ["refusal", "pairwise", "classifier"])
def test_judge_stage_measures_the_judge(project, benchmark_dir, tiny_llama, tiny_bert, name):
    from stages import judge as judge_stage
    from tests.conftest import set_params

    set_params(project / "params.yaml", {"benchmarks.source": str(benchmark_dir), "judges.check_limit": 3,
                                         "judges.pairwise.model": str(tiny_llama),
                                         "judges.classifier.backbone": str(tiny_llama),
                                         "judges.classifier.encoder": str(tiny_bert),
                                         "judges.classifier.max_length": 48})
    (project / "models").mkdir()
    result = CliRunner().invoke(judge_stage.main, ["--name", name, "--out", f"judges/{name}",
                                                   "--metrics", f"metrics/judges/{name}.json"])
    assert result.exit_code == 0, result.output
    check = json.loads((project / f"judges/{name}/check.json").read_text())
    assert check == json.loads((project / f"metrics/judges/{name}.json").read_text())
    if name == "classifier":  # trained on the real pairs through a tiny random backbone
        held_out = check["metrics"]["classifier"]
        assert held_out["n"] > 500 and 0.0 <= held_out["accuracy"] <= 1.0
        assert {"prompt_only", "prompt_only_encoder", "majority", "refusal_matcher"} <= set(check["metrics"])
        assert check["data"]["train"] + check["data"]["test"] == check["data"]["pairs"] > 2500
        assert check["probes"]["judge"] == f"classifier:{tiny_llama}"
        assert (project / "judges/classifier/probe.npz").is_file()
        return
    assert "near_chance" in check and 0.0 <= check["accuracy"] <= 1.0
    if name == "refusal":
        assert check["n"] > 500 and "probes" in check  # the held-out BeaverTails split
    else:
        assert check["n"] == 3
