"""No params.yaml value can name a DVC stage or output: stage names and output paths come from the
fixed lists of dvc.yaml only. DVC removes a stage's outputs before any stage can validate params
(`dvc repro -s` skips `check`, `dvc exp run` checks the workspace out first), so a name such as
`../data` must never reach a path. Checked twice: DVC's own view of the stages under hostile
params, and the real DVC commands in a scratch repo beside a sentinel folder that must survive."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from isara.config import load_params
from isara.config.pipeline import Pipeline, check_pipeline, read_pipeline
from isara.errors import IsaraError
from tests.conftest import ROOT, set_params
from tests.test_pipeline import _env, make_repo, run

HOSTILE = ["../data", "../../somewhere", "/tmp/isara-absolute", "a/b", "name\n", "iter1\n../data"]


def _hostile_params(value: str) -> list[dict]:
    """One params change per place a name can be written, each carrying `value`."""
    return [{"judges.check": [value]}, {"judges.check": ["refusal", "refusal"]},
            {"evaluate.suites": [value]}, {"evaluate.suites": ["harm", "harm"]},
            {"evaluate.harm_sets": [value]}, {"judges.harm": [value]}, {"filter.judges": [value]},
            {"evaluate.prompt_sets": {value: "data/eval_prompts.jsonl"}},
            {"runs": {value: {"prev": "iter0"}, "iter1": {"prev": value}}},
            {"methods": {value: {"prompting": "zero_shot"}}}]


def _stages(repo: Path) -> dict[str, list[str]]:
    """DVC's resolved stages: name -> output paths, as `dvc repro` would act on them."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        return {stage.addressing: sorted(str(out.def_path) for out in stage.outs) for stage in dvc_repo.index.stages}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A git+DVC copy of the project, tiny profile, no run yet (as a fresh clone)."""
    root = tmp_path_factory.mktemp("names")
    repo = make_repo(root, root / "no-model-needed")
    return repo


def _restore(repo: Path) -> None:
    run(repo, "git", "checkout", "--", ".")
    run(repo, "git", "clean", "-fdq", "-e", ".dvc")


@pytest.mark.parametrize("value", HOSTILE)
def test_no_params_value_reaches_a_stage_name_or_output(scratch, value):
    clean = _stages(scratch)
    assert all(".." not in out and not out.startswith("/") for outs in clean.values() for out in outs)
    try:
        for change in _hostile_params(value):
            set_params(scratch / "params.yaml", change)
            assert _stages(scratch) == clean, change
            _restore(scratch)
    finally:
        _restore(scratch)


@pytest.mark.parametrize("change", _hostile_params("../data")[:2] + _hostile_params("name\n")[2:3]
                         + _hostile_params("a/b")[8:])
def test_every_name_is_refused_by_check(project, change):
    set_params(project / "params.yaml", change)
    with pytest.raises(IsaraError):
        check_pipeline(load_params(), read_pipeline())


def test_params_runs_and_methods_must_be_dvc_yamls(project):
    pipeline = read_pipeline()
    check_pipeline(load_params(), pipeline)
    set_params(project / "params.yaml", {"runs": {"iter1": {"prev": "iter0"}, "iter2": {"prev": "iter1"},
                                                  "iter3": {"prev": "iter2"},
                                                  "oneshot": {"prev": "iter0", "rounds": 3}}})
    with pytest.raises(IsaraError, match="runs .*iter3: iter2.* must match the runs of dvc.yaml"):
        check_pipeline(load_params(), pipeline)
    shutil.copy(ROOT / "params.yaml", project / "params.yaml")
    check_pipeline(load_params(), Pipeline(pipeline.runs, pipeline.methods, pipeline.suites, pipeline.judges))
    with pytest.raises(IsaraError, match="methods .* must match the methods of dvc.yaml's evaluate matrix"):
        check_pipeline(load_params(), Pipeline(pipeline.runs, pipeline.methods[:-1], pipeline.suites, pipeline.judges))


def test_an_interpolated_list_in_dvc_yaml_is_refused(tmp_path):
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    pipeline["stages"]["judge"]["foreach"] = "${judges.check}"
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(pipeline))
    with pytest.raises(IsaraError, match="judge's foreach must be a list of names written in the file"):
        read_pipeline(tmp_path / "dvc.yaml")


# --- the real DVC commands -------------------------------------------------------------------------


def _dvc(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=_env(), capture_output=True, text=True)


@pytest.fixture
def sentinel(scratch):
    """A folder of someone else's beside the project, where `judges/../../somewhere` would point."""
    folder = scratch.parent / "somewhere"
    folder.mkdir(exist_ok=True)
    (folder / "keep.txt").write_text("still here")
    yield folder
    shutil.rmtree(folder)


def _intact(repo: Path, sentinel: Path) -> None:
    assert run(repo, "git", "status", "--porcelain", "data") == ""  # no tracked data deleted
    for name in ("seed.jsonl", "safe_prompts.jsonl", "eval_prompts.jsonl"):
        assert (repo / "data" / name).is_file()
    assert (sentinel / "keep.txt").read_text() == "still here"


@pytest.mark.pipeline
@pytest.mark.parametrize("assignment", ['judges.check=["../data"]', 'judges.check=["../../somewhere"]',
                                        'evaluate.suites=["../data"]', 'judges.check=[refusal,refusal]'])
def test_exp_run_deletes_nothing_and_check_refuses(scratch, sentinel, assignment):
    try:
        done = _dvc(scratch, "exp", "run", "-S", assignment)
        output = done.stdout + done.stderr
        assert done.returncode != 0 and "error: params.yaml:" in output
        _intact(scratch, sentinel)
    finally:
        _restore(scratch)


@pytest.mark.pipeline
@pytest.mark.parametrize("change", [{"runs": {"../data": {"prev": "iter0"}}},
                                    {"methods": {"../../somewhere": {"prompting": "zero_shot"}}}])
def test_exp_run_with_a_hostile_run_or_method_deletes_nothing(scratch, sentinel, change):
    set_params(scratch / "params.yaml", change)
    try:
        done = _dvc(scratch, "exp", "run")
        assert done.returncode != 0 and "error: params.yaml:" in done.stdout + done.stderr
        _intact(scratch, sentinel)
    finally:
        _restore(scratch)


@pytest.mark.pipeline
@pytest.mark.parametrize("target", ["judge@../data", "judge@../../somewhere", "finetune@../data",
                                    "evaluate@../data-harm", "evaluate@iter0-../data"])
def test_repro_single_stage_cannot_target_a_path(scratch, sentinel, target):
    set_params(scratch / "params.yaml", {"judges.check": ["../data", "../../somewhere"],
                                         "evaluate.suites": ["../data"]})
    try:
        done = _dvc(scratch, "repro", "-s", target)
        assert done.returncode != 0 and "Running stage" not in done.stdout + done.stderr
        _intact(scratch, sentinel)
    finally:
        _restore(scratch)


@pytest.mark.pipeline
def test_queued_experiment_deletes_nothing(scratch, sentinel):
    try:
        queued = _dvc(scratch, "exp", "run", "--queue", "-S", 'judges.check=["../../somewhere"]')
        assert queued.returncode == 0, queued.stderr
        done = _dvc(scratch, "queue", "start", "-j", "1")
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = _dvc(scratch, "queue", "status").stdout
            if "Failed" in status or "Success" in status:
                break
            time.sleep(2)
        assert "Failed" in status, status
        _intact(scratch, sentinel)
    finally:
        _dvc(scratch, "queue", "remove", "--all")
        _restore(scratch)
