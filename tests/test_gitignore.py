"""The committed .gitignore files cover every cached output of the default pipeline, so that the
first `dvc repro` of a fresh clone changes no tracked file and leaves nothing untracked."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT


def cached_outputs() -> list[str]:
    from dvc.repo import Repo

    with Repo(ROOT) as repo:
        return sorted(out.def_path for stage in repo.index.stages for out in stage.outs if out.use_cache)


def test_every_cached_output_of_the_default_run_is_git_ignored():
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    outputs = cached_outputs()
    assert "models/iter0" in outputs and "work/check" in outputs
    done = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *outputs],
                          cwd=ROOT, capture_output=True, text=True)
    missing = [line.split("\t")[-1] for line in done.stdout.splitlines() if line.startswith("::")]
    assert missing == [], f"not ignored by the committed .gitignore files: {missing}"


def test_temporary_outputs_of_a_killed_run_are_ignored():
    left = ["models/.iter1.a1b2c3.tmp", "work/iter1/.train.jsonl.x.tmp", "work/iter1/candidates.jsonl.partial/rank-0.jsonl",
            "reports/iter1/harm.jsonl.partial/rank-1.jsonl"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *left], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.split() == left
