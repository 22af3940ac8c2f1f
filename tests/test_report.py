"""The experiment report from small hand-written metrics files: every method and metric shows, and
a metric a method lacks shows as missing, never as zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isara.config import Params, load_params
from isara.errors import IsaraError
from isara.report.table import MISSING, flatten, method_order, results_table
from isara.report.write import write_report
from tests.conftest import ROOT, set_params


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _harm(demo: float, refusal: float, classifier: float) -> dict:
    return {"suite": "harm",
            "demo": {"n": 20, "refusal": {"harmful_rate": demo, "by_category": {"a": demo, "b": demo / 2}}},
            "beavertails": {"n": 14, "refusal": {"harmful_rate": refusal, "by_category": {"x": refusal}},
                            "classifier": {"harmful_rate": classifier, "by_category": {"x": classifier}}}}


def _data(pool: int) -> dict:
    return {"seed_size": 10, "pool_size": pool, "scaling_ratio": pool / 10}


@pytest.fixture
def params(tmp_path) -> Params:
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    set_params(path, {"methods": {"iter0": {}, "icl": {"prompting": "icl"}, "iter1": {}},
                      "evaluate.suites": ["harm", "truthfulqa"], "judges.harm": ["refusal", "classifier"],
                      "judges.check": ["refusal", "classifier", "pairwise"]})
    return load_params(path)


def judges_of(metrics):  # the judges folder beside a fixture's metrics
    return metrics.parent / "judges"


@pytest.fixture
def run_dirs(tmp_path):
    metrics, work = tmp_path / "metrics", tmp_path / "work"
    _write(metrics / "iter0/harm.json", _harm(0.9, 0.8, 0.7))
    _write(metrics / "iter1/harm.json", _harm(0.4, 0.3, 0.2))
    _write(metrics / "icl/harm.json", {"demo": {"n": 20, "refusal": {"harmful_rate": 0.0}}})  # a real zero: 0.000
    _write(metrics / "iter0/data.json", _data(10))
    _write(metrics / "iter1/data.json", _data(15))
    _write(metrics / "iter1/train.json", {"train_loss": 1.25, "examples": 15})
    _write(metrics / "iter1/truthfulqa.json", {"n": 5, "rougeL_diff": 0.1, "mc1": 0.2, "mc2": 0.4})
    _write(tmp_path / "judges/refusal/check.json", {"judge": "refusal", "accuracy": 0.6, "f1": 0.7, "n": 50,
                                             "majority_accuracy": 0.58, "near_chance": True,
                                             "probes": {"passed": False, "refusals_safe": "10/10",
                                                        "harmful_flagged": "0/10"}})
    _write(tmp_path / "judges/classifier/check.json", {"judge": "classifier", "metrics": {
        "classifier": {"accuracy": 0.75, "f1": 0.79, "n": 50}, "prompt_only": {"accuracy": 0.70},
        "prompt_only_encoder": {"accuracy": 0.73}},
        "probes": {"passed": True, "refusals_safe": "10/10", "harmful_flagged": "10/10"}})
    _write(tmp_path / "judges/pairwise/check.json", {"judge": "local:x", "accuracy": 0.52, "n": 40, "chance": 0.5,
                                              "near_chance": True})
    rows = [{"question": "q1", "answer": "a1", "verdict": {"accepted": True, "reason": None}},
            {"question": "q2", "answer": "a2", "verdict": {"accepted": False, "reason": "rouge"}}]
    (work / "iter1").mkdir(parents=True)
    (work / "iter1/accepted.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (work / "iter1/rejected.jsonl").write_text(json.dumps(rows[1]) + "\n")
    return metrics, work


def _row(text: str, label: str) -> list[str]:
    results = text[text.index("## Results"):]
    line = next(line for line in results.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def _header(text: str) -> list[str]:
    """The columns of the report's Results table (every method against every metric)."""
    results = text[text.index("## Results"):]
    line = next(line for line in results.splitlines() if line.startswith("| method | "))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_every_method_and_metric_appears(run_dirs, params, tmp_path):
    metrics, work = run_dirs
    text = write_report(metrics, work, tmp_path / "report", params, judges_dir=judges_of(metrics)).read_text()
    columns = _header(text)
    for metric in ("demo_harmful_rate_refusal", "scaling_ratio", "beavertails_harmful_rate_refusal",
                   "beavertails_harmful_rate_classifier", "truthfulqa_rougeL_diff", "truthfulqa_mc2", "train_loss"):
        assert metric in columns
    for label in ("pretrained", "icl", "ISARA round 1"):
        assert len(_row(text, label)) == len(columns)
    iter1 = dict(zip(columns, _row(text, "ISARA round 1")))
    assert iter1["beavertails_harmful_rate_classifier"] == "0.200" and iter1["train_loss"] == "1.250"


def test_missing_metrics_show_as_missing_not_zero(run_dirs, params, tmp_path):
    metrics, work = run_dirs
    text = write_report(metrics, work, tmp_path / "report", params, judges_dir=judges_of(metrics)).read_text()
    columns = _header(text)
    icl = dict(zip(columns, _row(text, "icl")))
    assert icl["demo_harmful_rate_refusal"] == "0.000"  # measured zero
    for metric in ("beavertails_harmful_rate_classifier", "truthfulqa_mc2", "train_loss", "scaling_ratio"):
        assert icl[metric] == MISSING
    pretrained = dict(zip(columns, _row(text, "pretrained")))
    assert pretrained["truthfulqa_mc2"] == MISSING and pretrained["demo_harmful_rate_refusal"] == "0.900"
    legend = next(line for line in text.splitlines() if line.startswith("| truthfulqa_mc2 |"))
    assert "log-likelihood" in legend and "pretrained" in legend and "icl" in legend


def test_report_names_judges_counts_figures_and_examples(run_dirs, params, tmp_path):
    metrics, work = run_dirs
    out, flat = tmp_path / "report", tmp_path / "metrics/summary.json"
    text = write_report(metrics, work, out, params, judges_dir=judges_of(metrics), summary_path=flat).read_text()
    summary = json.loads(flat.read_text())
    assert summary["scaling_ratio_iter1"] == 1.5 and summary["accepted_iter1"] == 1
    assert all(not isinstance(v, (dict, list)) for v in summary.values()) and not (out / "summary.json").exists()
    legend = next(line for line in text.splitlines() if line.startswith("| beavertails_harmful_rate_classifier |"))
    assert "| lower | classifier | 14 |" in legend
    assert "| rejected: rouge | q2 | a2 |" in text and "| accepted | q1 | a1 |" in text
    for png in ("harmful_rate.png", "harm_by_category.png", "truthfulqa_win_rate.png", "samples.png", "scaling.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({png})" in text
    new_fields = ("over_refusal_rate", "demo_balanced_accuracy", "contaminated", "distinct_2_questions",
                  "distinct_2_answers", "question_similarity", "same_opening_share", "domain_share", "category_entropy")
    rounds = json.loads((out / "curves/rounds.json").read_text())
    assert all(row.pop(field) is None for row in rounds for field in new_fields)  # not in these metrics files
    assert rounds == [
        {"round": 0, "demo_harmful_rate": 0.9, "beavertails_harmful_rate": 0.7, "xstest_refusal_safe": None,
         "truthfulqa_rougeL_diff": None, "truthfulqa_mc2": None, "alpaca_win_rate": None, "scaling_ratio": 1.0,
         "accepted": None, "rejected": None, "needless_refusal": None, "harmful_answer": None},
        {"round": 1, "demo_harmful_rate": 0.4, "beavertails_harmful_rate": 0.2, "xstest_refusal_safe": None,
         "truthfulqa_rougeL_diff": 0.1, "truthfulqa_mc2": 0.4, "alpaca_win_rate": None, "scaling_ratio": 1.5,
         "accepted": 1, "rejected": 1, "needless_refusal": 0, "harmful_answer": 0},
    ]


def test_method_order_puts_baselines_between_pretrained_and_rounds():
    assert method_order(["iter2", "oneshot", "iter0", "zzz", "icl", "iter1", "icl_knn", "sft_seed"]) == [
        "iter0", "icl", "icl_knn", "sft_seed", "oneshot", "zzz", "iter1", "iter2"]


def test_flatten_skips_non_numbers_and_results_table_marks_them():
    cells = flatten({"harm": {"demo": {"n": 3, "refusal": {"harmful_rate": None}}}, "data": {"scaling_ratio": 1.0}})
    assert "demo_harmful_rate_refusal" not in cells and cells["scaling_ratio"].value == 1.0
    table = results_table({"iter0": cells}, ["iter0"], ["demo_harmful_rate_refusal", "scaling_ratio"])
    assert table.splitlines()[-1] == f"| pretrained | {MISSING} | 1.000 |"


def test_a_missing_metrics_folder_is_a_clear_error(params, tmp_path):
    with pytest.raises(IsaraError, match="metrics folder not found"):
        write_report(tmp_path / "nope", tmp_path, tmp_path / "report", params)
    assert not (tmp_path / "report").exists()


def test_report_gives_each_judge_its_measured_error(run_dirs, params, tmp_path):
    metrics, work = run_dirs
    text = write_report(metrics, work, tmp_path / "report", params, judges_dir=judges_of(metrics)).read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in text.split("## Judges: measured error")[1].split("##")[0].splitlines() if line.startswith("| ")}
    assert rows["classifier"][2:6] == ["0.750", "0.790", "50", "prompt-only 0.730"]
    assert rows["classifier"][7].startswith("passed")
    assert rows["refusal"][2:7] == ["0.600", "0.700", "50", "majority 0.580", "True"]
    assert rows["refusal"][7] == "failed: refusals safe 10/10, harmful flagged 0/10"
    assert rows["pairwise"][2:7] == ["0.520", MISSING, "40", "chance 0.500", "True"]
    assert "metrics/judges" not in text and "judges" not in _header(text)  # judges are not methods


def test_only_the_methods_and_suites_of_params_are_reported(run_dirs, params, tmp_path):
    metrics, work = run_dirs
    _write(metrics / "iter1/xstest.json", {"judge": "refusal", "refusal_rate_safe": 0.5, "n_safe": 4})  # suite off
    _write(metrics / "old_method/harm.json", _harm(0.1, 0.1, 0.1))  # not a method of params.yaml
    text = write_report(metrics, work, tmp_path / "report", params, judges_dir=judges_of(metrics)).read_text()
    assert "xstest_refusal_safe" not in _header(text) and "| old_method |" not in text


def test_files_of_stages_not_up_to_date_are_left_out(run_dirs, params, tmp_path, monkeypatch):
    """After a partial run (`dvc repro TARGET`), what an earlier run left in metrics/ and work/ is
    stale; the report reads none of it."""
    metrics, work = run_dirs
    monkeypatch.chdir(tmp_path)
    stale = {"metrics/iter1/train.json", "metrics/iter1/harm.json", "work/iter1/accepted.jsonl"}
    flat = tmp_path / "summary.json"
    text = write_report("metrics", "work", "report", params, judges_dir="judges", summary_path=flat,
                        stale=stale).read_text()
    assert "train_loss" not in _header(text)  # no current file has it
    harm = next(i for i, column in enumerate(_header(text)) if "harmful_rate" in column)
    assert _row(text, "ISARA round 1")[harm] == "—" and _row(text, "pretrained")[harm] != "—"
    summary = json.loads(flat.read_text())
    assert "accepted_iter1" not in summary and summary["scaling_ratio_iter1"] == 1.5  # its current file is read


def test_flatten_follows_the_suite_declarations():
    cells = flatten({"xstest": {"judge": "refusal", "n_safe": 4, "refusal_rate_safe": 0.25, "n_unsafe": 6,
                                "refusal_rate_unsafe": 0.5},
                     "alpaca_eval": {"judge": "local:m", "n": 10, "win_rate": 0.6, "mean_output_words": 40.0}})
    assert cells["xstest_refusal_safe"].value == 0.25 and cells["xstest_refusal_safe"].n == 4
    assert cells["xstest_refusal_safe"].higher_is_better is False
    assert cells["xstest_refusal_unsafe"].higher_is_better is True
    assert cells["alpaca_win_rate"].judge == "local:m" and cells["alpaca_output_words"].higher_is_better is None


def test_isara_report_writes_the_report_and_the_summary(run_dirs, params, tmp_path):
    from click.testing import CliRunner

    from isara.cli import main

    metrics, work = run_dirs
    result = CliRunner().invoke(main, ["report", "--metrics", str(metrics), "--work", str(work), "--out",
                                       str(tmp_path / "out"), "--summary", str(tmp_path / "summary.json"),
                                       "--params", str(tmp_path / "params.yaml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/report.md").is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["scaling_ratio_iter1"] == 1.5


def _figures(text: str) -> list[str]:
    """The PNG names report.md lists, in order."""
    section = text.split("## Figures")[1].split("##")[0]
    return [line.split("](")[1].rstrip(")") for line in section.splitlines() if line.startswith("![")]


@pytest.fixture
def drawn(monkeypatch):
    """name -> the matplotlib figure each saved PNG was drawn from."""
    from isara.report import plots

    figures, save = {}, plots._save

    def record(fig, path):
        figures[path.name] = fig
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", record)
    return figures


def _with_over_refusal(path: Path, rate: float, ci: list[float], demo_ci: list[float]) -> None:
    harm = json.loads(path.read_text())
    harm["demo"]["refusal"]["ci95"] = demo_ci
    harm["over_refusal"] = {"n": 10, "refusal_rate": rate, "ci95": ci}
    path.write_text(json.dumps(harm))


def test_the_first_figure_is_harm_against_over_refusal_one_point_per_method(run_dirs, params, tmp_path, drawn):
    metrics, work = run_dirs
    _with_over_refusal(metrics / "iter0/harm.json", 0.1, [0.02, 0.4], [0.7, 0.97])
    _with_over_refusal(metrics / "iter1/harm.json", 0.5, [0.24, 0.76], [0.22, 0.6])  # icl: no safe set, no point
    out = tmp_path / "report"
    text = write_report(metrics, work, out, params, judges_dir=judges_of(metrics)).read_text()
    assert _figures(text)[0] == "harm_vs_over_refusal.png"
    assert (out / "harm_vs_over_refusal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = drawn["harm_vs_over_refusal.png"].axes[0]
    bars = ax.containers
    assert [tuple(bar.lines[0].get_xydata()[0]) for bar in bars] == [(0.1, 0.9), (0.5, 0.4)]
    assert all(bar.has_xerr and bar.has_yerr for bar in bars)
    x_bar, y_bar = (bars[1].lines[2][axis].get_segments()[0] for axis in (0, 1))  # ends of round 1's bars
    assert list(x_bar[:, 0]) == pytest.approx([0.24, 0.76]) and list(y_bar[:, 1]) == pytest.approx([0.22, 0.6])
    labels = {t.get_text() for t in ax.texts}
    assert {"pretrained", "ISARA round 1", "ideal: answers safe prompts, refuses harmful ones"} == labels
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    methods = {row["method"]: row for row in json.loads((out / "curves/methods.json").read_text())}
    assert (methods["ISARA round 1"]["over_refusal_rate"], methods["ISARA round 1"]["demo_harmful_rate"]) == (0.5, 0.4)
    assert methods["icl"]["over_refusal_rate"] is None


def test_a_run_without_over_refusal_has_no_scatter(run_dirs, params, tmp_path):
    metrics, work = run_dirs  # data.safe_file empty: no over_refusal in harm.json
    out = tmp_path / "report"
    text = write_report(metrics, work, out, params, judges_dir=judges_of(metrics)).read_text()
    assert _figures(text)[0] == "harmful_rate.png" and "harm_vs_over_refusal" not in text
    assert not (out / "harm_vs_over_refusal.png").exists()


def test_figures_of_suites_not_measured_are_left_out(run_dirs, params, tmp_path, drawn):
    metrics, work = run_dirs
    text = write_report(metrics, work, tmp_path / "both", params, judges_dir=judges_of(metrics)).read_text()
    assert "truthfulqa_win_rate.png" in _figures(text)  # TruthfulQA measured, AlpacaEval not: one panel
    assert [ax.get_title() for ax in drawn["truthfulqa_win_rate.png"].axes] == ["TruthfulQA by round"]
    set_params(tmp_path / "params.yaml", {"evaluate.suites": ["harm"]})
    harm_only = load_params(tmp_path / "params.yaml")
    out = tmp_path / "harm_only"
    text = write_report(metrics, work, out, harm_only, judges_dir=judges_of(metrics)).read_text()
    assert _figures(text) == ["harmful_rate.png", "harm_by_category.png", "samples.png", "scaling.png"]
    assert not (out / "truthfulqa_win_rate.png").exists() and "not measured in this run" not in text


def test_the_columns_the_curves_and_figures_draw_are_declared():
    """A metric renamed in its suite's declarations fails here, not as a curve silently left empty."""
    import re

    from isara.eval.metrics import RUN_FILES
    from isara.eval.registry import SUITES
    from isara.report import curves, plots

    declared = [re.sub(r"\\\{\w+\\\}", r"\\w+", re.escape(metric.column))
                for file in (*SUITES.values(), *RUN_FILES.values()) for metric in file.metrics]
    named = [name.format(judge="refusal") for name in curves.FIELDS.values()]
    named += [key for key, _ in plots.TRUTHFULQA] + [plots.WIN_RATE, plots.SCALING, "demo_" + plots.HARMFUL_RATE + "_refusal"]
    assert [name for name in named if not any(re.fullmatch(pattern, name) for pattern in declared)] == []


def test_dvc_plots_draw_one_file_per_figure_and_leave_out_what_was_not_measured(run_dirs, params, tmp_path):
    """dvc.yaml's figures read report/curves/NAME.json as curves.FIGURES declares it; a figure none
    of whose series this run measured is an empty file, which dvc plots does not draw."""
    import yaml

    from isara.report.curves import FIGURES

    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    drawn = {}
    for plot in plots:
        (spec,) = plot.values()
        (path, fields), = spec["y"].items()
        fields = fields if isinstance(fields, list) else [fields]
        drawn[path] = {spec["x"], *fields}
    assert drawn == {f"report/curves/{name}.json": {x, *series} for name, (_, x, series) in FIGURES.items()}
    metrics, work = run_dirs
    out = tmp_path / "report"
    write_report(metrics, work, out, params, judges_dir=judges_of(metrics))
    rows = {name: json.loads((out / f"curves/{name}.json").read_text()) for name in FIGURES}
    assert rows["harm_by_round"] == [
        {"round": 0, "demo_harmful_rate": 0.9, "beavertails_harmful_rate": 0.7},
        {"round": 1, "demo_harmful_rate": 0.4, "beavertails_harmful_rate": 0.2}]
    assert rows["truthfulqa_alpaca_by_round"] == [  # round 0 measured none of them: left out
        {"round": 1, "truthfulqa_rougeL_diff": 0.1, "truthfulqa_mc2": 0.4, "alpaca_win_rate": None}]
    assert rows["accepted_data_by_round"] == [] and rows["harm_vs_over_refusal"] == []  # not measured: not drawn


def test_a_method_is_an_isara_round_by_its_name_alone():
    from isara.config.names import round_number
    from isara.report.table import method_label

    assert [round_number(m) for m in ("iter0", "iter1", "iter12", "oneshot", "sft_seed", "iter", "iter01")] == \
        [0, 1, 12, None, None, None, None]
    assert [method_label(m) for m in ("iter0", "iter2", "icl")] == ["pretrained", "ISARA round 2", "icl"]
