"""The whole DVC DAG on the tiny profile: it runs, it caches, and a param change re-runs only what
it touches (`dvc exp run -S` for gamma; `dvc repro` of the stages in question for the others, so
that what lies downstream of them is not run). Each repo is a scratch git+DVC copy of this project."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isara.report.stop_rule import verdicts
from tests.pipeline_repo import (ALL_STAGES, EVALUATE, JUDGES, METHODS, RUNS, _env, dvc, evaluations, make_repo, ran_stages,
                                 reruns, restore, run)

pytestmark = pytest.mark.pipeline

@pytest.fixture(scope="module")
def llama_repo(tmp_path_factory, tiny_llama):
    repo = make_repo(tmp_path_factory.mktemp("llama"), tiny_llama)
    first = dvc(repo, "repro")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline run")
    return repo, first


def metrics(repo: Path, method: str, name: str = "harm") -> dict:
    return json.loads((repo / f"metrics/methods/{method}/{name}.json").read_text())


def test_every_stage_runs_and_writes_metrics_per_method(llama_repo):
    repo, first = llama_repo
    assert ran_stages(first) == ALL_STAGES
    for method in METHODS:
        m = metrics(repo, method)
        assert m["method"] == method and m["suite"] == "harm" and m["prompt_format"] == "chat"
        assert m["demo"]["n"] == 14 and 0.0 <= m["demo"]["refusal"]["harmful_rate"] <= 1.0
    for run in ("iter1", "iter2", "oneshot", "sft_seed"):
        assert metrics(repo, run, "data")["scaling_ratio"] >= 1.0
        assert metrics(repo, run, "train")["steps"] >= 1
    assert metrics(repo, "iter0", "data")["scaling_ratio"] == 1.0
    assert metrics(repo, "icl_knn")["prompting"] == "icl_knn" and metrics(repo, "icl")["model"] == "models/icl"
    summary = json.loads((repo / "metrics/summary.json").read_text())
    assert summary["harmful_rate_iter1"] == pytest.approx(metrics(repo, "iter1")["demo"]["refusal"]["harmful_rate"], abs=1e-4)
    assert summary["scaling_ratio_iter2"] == pytest.approx(metrics(repo, "iter2", "data")["scaling_ratio"], abs=1e-4)
    # The dev suite answers for iter0 and the rounds only; the stop rule reads it, in the summary and the report.
    assert metrics(repo, "iter1", "dev")["n_harmful"] == 4 and metrics(repo, "icl", "dev") == {}
    dev_accuracy = metrics(repo, "iter2", "dev")["dev_balanced_accuracy"]
    assert summary["dev_balanced_accuracy_iter2"] == pytest.approx(dev_accuracy)
    assert metrics(repo, "iter1", "preferences")["candidates"] == 6  # the pairs per kind, whatever the objective
    dev_rows = {m: [json.loads(line) for line in (repo / f"reports/{m}/dev.jsonl").read_text().splitlines()]
                for m in ("iter0", "iter1", "iter2")}
    found = verdicts(dev_rows, {"iter1": "iter0", "iter2": "iter1"}, seed=0)
    assert {k: v for k, v in summary.items() if k.startswith("stop_")} == {
        f"stop_{v['run']}": int(v["stop"]) for v in found}  # oneshot's prev answered, oneshot did not
    assert "Stop rule (dev prompts" in (repo / "report/report.md").read_text()
    # The one declared metrics file: dvc metrics show / exp show list its flat numbers and nothing else.
    shown = json.loads(dvc(repo, "metrics", "show", "--json"))[""]["data"]
    assert list(shown) == ["metrics/summary.json"] and shown["metrics/summary.json"]["data"] == summary


def test_touching_the_model_loading_module_invalidates_every_stage_that_loads_a_model(llama_repo):
    repo, _ = llama_repo
    path = repo / "isara/lm/models.py"
    original = path.read_text()
    path.write_text(original + "\n# touched\n")
    try:
        changed = set(json.loads(dvc(repo, "status", "--json")))
    finally:
        path.write_text(original)
    loads_a_model = ({"base", "sft_seed_finetune", "label_judge", "domain_references"} | EVALUATE | JUDGES  # audit: the filter's veto may load one
                     | {f"{stage}@{run}" for stage in ("generate", "audit", "finetune") for run in RUNS}
                     | {"report"})  # the report reads the suites' declarations, whose modules import isara.lm
    assert changed - {"check"} == loads_a_model  # check always runs: it reads what DVC cannot hash
    assert set(json.loads(dvc(repo, "status", "--json"))) == {"check"}


def test_generated_samples_keep_their_provenance(llama_repo):
    repo, _ = llama_repo
    pool_ids = {json.loads(line)["id"] for line in (repo / "work/iter0/pool.jsonl").read_text().splitlines()}
    judged = [
        json.loads(line)
        for name in ("accepted", "rejected")
        for line in (repo / f"work/iter1/{name}.jsonl").read_text().splitlines()
    ]
    assert len(judged) == 6
    for row in judged:
        assert row["iteration"] == 1
        assert len(row["question_context_ids"]) == 2 and set(row["question_context_ids"]) <= pool_ids
        assert isinstance(row["raw_question"], str)
        assert set(row["verdict"]) == {"accepted", "reason", "rouge", "rouge_nearest"}
        if row["question"]:
            assert set(row["answer_context_ids"]) <= pool_ids and isinstance(row["raw_answer"], str)


def test_models_are_not_stored_twice(llama_repo):
    repo, _ = llama_repo
    weights = repo / "models/iter1/model.safetensors"
    assert weights.stat().st_nlink >= 2 or weights.is_symlink(), "the workspace copy is not a link into the DVC cache"


def test_second_repro_runs_nothing_but_the_check(llama_repo):
    repo, _ = llama_repo
    assert ran_stages(dvc(repo, "repro")) == {"check"}
    assert run(repo, "git", "status", "--porcelain") == ""


def test_a_leftover_resume_log_or_temporary_changes_no_stage(llama_repo):
    """A killed stage leaves OUT.partial/ and .NAME.*.tmp beside its outputs; report depends on all of
    work/ and reports/, so they must be outside DVC's view."""
    repo, _ = llama_repo
    leftovers = [repo / "work/iter1/candidates.jsonl.partial/rank-0.jsonl", repo / "reports/iter1/harm.jsonl.partial/rank-0.jsonl",
                 repo / "work/iter1/.pool.jsonl.x1.tmp"]
    try:
        for path in leftovers:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('{"batch": 0}\n')
        assert set(json.loads(dvc(repo, "status", "--json"))) == {"check"}
    finally:
        for path in leftovers:
            shutil.rmtree(path.parent) if path.parent.name.endswith(".partial") else path.unlink()


def _failing_repro(repo: Path, changes: dict) -> str:
    from tests.conftest import set_params

    set_params(repo / "params.yaml", changes)
    try:
        done = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=repo, env=_env(), capture_output=True,
                              text=True)
    finally:
        restore(repo)
    assert done.returncode != 0
    assert ran_stages(done.stdout + done.stderr) <= {"check"}
    return done.stdout + done.stderr


def test_a_misspelt_key_stops_the_run_before_any_stage(llama_repo):
    repo, _ = llama_repo
    text = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(text.replace("gamma: 0.3", "gamma: 0.3\ngama: 0.5"))
    try:
        done = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=repo, env=_env(), capture_output=True,
                              text=True)
    finally:
        restore(repo)
    assert done.returncode != 0 and "error: params.yaml: unknown key 'gama'" in done.stdout + done.stderr
    assert ran_stages(done.stdout + done.stderr) == {"check"}


def test_the_vllm_backend_without_vllm_stops_the_run_with_one_line(llama_repo):
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    repo, _ = llama_repo
    output = _failing_repro(repo, {"generation.backend": "vllm"})
    assert "error: generation.backend is 'vllm' but vllm is not installed: pip install \"isara[vllm]\"" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["../data", "../../somewhere"])
def test_a_judge_name_that_is_a_path_deletes_nothing(llama_repo, name):
    """judges.check items become output paths (judges/NAME), which DVC removes before a stage runs."""
    repo, _ = llama_repo
    victim = (repo / "judges" / name).resolve()
    outside = not victim.is_relative_to(repo.resolve())
    if outside:  # a folder of someone else's, beside the project
        victim.mkdir(parents=True)
        (victim / "keep.txt").write_text("still here")
    try:
        output = _failing_repro(repo, {"judges.check": [name]})
        assert f"judges.check[] must be one of refusal, classifier, beaver-dam, pairwise, got '{name}'" in output
        assert (repo / "data/seed.jsonl").is_file() and (repo / "data/eval_prompts.jsonl").is_file()
        if outside:
            assert (victim / "keep.txt").read_text() == "still here"
    finally:
        if outside:
            shutil.rmtree(victim)


def test_gamma_reruns_only_mix_finetune_evaluate_and_downstream(llama_repo):
    repo, _ = llama_repo
    ran = ran_stages(dvc(repo, "exp", "run", "-n", "gamma-half", "-S", "gamma=0.5"))
    diff = json.loads(dvc(repo, "metrics", "diff", "--json"))
    tuned = json.loads((repo / "metrics/methods/iter1/train.json").read_text())
    restore(repo)
    before = json.loads((repo / "metrics/methods/iter1/train.json").read_text())
    dvc(repo, "plots", "diff", "HEAD", "gamma-half", "-o", "plots-diff")
    page = (repo / "plots-diff/index.html").read_text()
    assert "Harmful rate by ISARA round" in page and "gamma-half" in page
    assert {"mix@iter1", "finetune@iter1", "evaluate@iter1-harm"} <= ran
    downstream_of_round_1 = ({"mix@iter1", "finetune@iter1", "retrieve@iter2", "generate@iter2", "audit@iter2",
                              "filter@iter2",
                              "mix@iter2", "preferences@iter2", "finetune@iter2", "report"}
                             | evaluations("iter1", "iter2"))
    one_shot_mix = {"mix@oneshot", "finetune@oneshot"} | evaluations("oneshot")
    assert one_shot_mix <= ran
    assert ran <= downstream_of_round_1 | one_shot_mix | {"sft_seed_mix", "check"}  # D0 alone: gamma changes nothing
    assert "sft_seed_finetune" not in ran
    assert tuned["train_loss"] != before["train_loss"]
    assert set(diff) <= {"metrics/summary.json"}  # the one declared metrics file


def test_rouge_threshold_does_not_regenerate(llama_repo):
    repo, _ = llama_repo
    kept = {"seed", "base", "embed@iter1", "retrieve@iter1", "generate@iter1", "generate@oneshot", "audit@iter1",
            "evaluate@iter0-harm"}
    ran = reruns(repo, {"rouge_threshold": 0.05}, kept | {"filter@iter1"})
    assert "filter@iter1" in ran
    assert not ran & kept


def test_k_does_not_reembed(llama_repo):
    repo, _ = llama_repo
    kept = {"seed", "base", "embed@iter1", "sft_seed_finetune"}
    ran = reruns(repo, {"k": 3}, kept | {"retrieve@iter1", "generate@iter1"})
    assert {"retrieve@iter1", "generate@iter1"} <= ran
    assert not ran & kept


def test_report_sets_every_method_beside_the_rounds(llama_repo):
    repo, _ = llama_repo
    text = (repo / "report/report.md").read_text()
    for label in ("pretrained", "icl", "icl_knn", "sft_seed", "oneshot", "ISARA round 1", "ISARA round 2"):
        assert f"| {label} |" in text
    for png in ("harm_vs_over_refusal.png", "harmful_rate.png", "harm_by_category.png", "samples.png", "scaling.png"):
        assert (repo / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rounds = json.loads((repo / "report/curves/rounds.json").read_text())
    assert [row["round"] for row in rounds] == [0, 1, 2]
    assert rounds[1]["accepted"] + rounds[1]["rejected"] == 6 and rounds[0]["accepted"] is None


def test_every_tuned_model_has_a_model_card(llama_repo):
    repo, _ = llama_repo
    for name, stage in (("iter1", "finetune@iter1"), ("iter2", "finetune@iter2"), ("sft_seed", "sft_seed_finetune"),
                        ("oneshot", "finetune@oneshot")):
        card = (repo / f"models/{name}/README.md").read_text()
        assert f"dvc repro {stage}" in card and f"metrics/methods/{name}/" in card
        assert "| rows |" in card and "train_loss" in card


def test_one_shot_spends_every_round_budget_at_once(llama_repo):
    repo, _ = llama_repo
    contexts = (repo / "work/oneshot/contexts.jsonl").read_text().splitlines()
    assert len(contexts) == 2 * 6  # samples_per_iteration x rounds (tiny profile)
    assert contexts[:6] == (repo / "work/iter1/contexts.jsonl").read_text().splitlines()
    sft_rows = (repo / "work/sft_seed/train.jsonl").read_text().splitlines()
    assert len(sft_rows) == 12 and all(json.loads(r)["source"] == "seed" for r in sft_rows)


def test_dvc_plots_show_draws_the_curves(llama_repo):
    repo, _ = llama_repo
    dvc(repo, "plots", "show", "-o", "plots-show")
    page = (repo / "plots-show/index.html").read_text()
    for title in ("Harmful rate by ISARA round", "Harmful rate by method", "Data scaling by ISARA round"):
        assert title in page


def test_new_weights_in_a_local_base_model_folder_rebuild_the_base(tmp_path, tiny_llama):
    """A base model given as a folder is fingerprinted by content (stage check), so DVC sees new
    weights under the same name; models/iter0 records the digest."""
    from isara.tiny import build_tiny_model

    folder = tmp_path / "base-model"
    shutil.copytree(tiny_llama, folder)
    repo = make_repo(tmp_path, folder)
    assert ran_stages(dvc(repo, "repro", "base")) == {"check", "base"}
    first = json.loads((repo / "models/iter0/isara_model.json").read_text())
    assert first["kind"] == "folder" and len(first["sha256"]) == 64
    assert ran_stages(dvc(repo, "repro", "base")) == {"check"}
    shutil.rmtree(folder)
    build_tiny_model("llama", folder, seed=1)
    assert ran_stages(dvc(repo, "repro", "base")) == {"check", "base"}
    assert json.loads((repo / "models/iter0/isara_model.json").read_text())["sha256"] != first["sha256"]
