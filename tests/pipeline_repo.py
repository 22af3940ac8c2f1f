"""Scratch git+DVC copies of this project on the tiny profile, and running DVC in them: what the
pipeline tests share."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from isara.profiles import apply_profile, load_profile
from tests.conftest import ROOT

PROJECT_FILES = ("dvc.yaml", "params.yaml", ".dvcignore", "stages", "isara", "data", "profiles", "judges/README.md",
                 "models/icl", "models/icl_knn")
RUNS = ("iter1", "iter2", "oneshot")
METHODS = ("iter0", "icl", "icl_knn", "sft_seed", "oneshot", "iter1", "iter2")
LOOP_STAGES = ("embed", "retrieve", "generate", "audit", "filter", "mix", "preferences", "finetune")
SUITES = ("harm", "xstest", "truthfulqa", "alpaca_eval", "reward", "dev", "domain")  # harm, and dev for iter0 and the
# rounds, run; the others write placeholders here
JUDGES = {f"judge@{name}" for name in ("refusal", "classifier", "beaver-dam", "pairwise")}  # placeholders


def evaluations(*methods: str) -> set[str]:
    return {f"evaluate@{method}-{suite}" for method in methods for suite in SUITES}


EVALUATE = evaluations(*METHODS)
ALL_STAGES = ({"check", "seed", "general", "base", "sft_seed_mix", "sft_seed_finetune", "label_judge", "domain_references", "report"}
              | EVALUATE | JUDGES
              | {f"{stage}@{run}" for stage in LOOP_STAGES for run in RUNS})


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(GIT_AUTHOR_NAME="isara", GIT_AUTHOR_EMAIL="isara@localhost",
               GIT_COMMITTER_NAME="isara", GIT_COMMITTER_EMAIL="isara@localhost",
               HF_HUB_OFFLINE="1", DVC_NO_ANALYTICS="1")
    return env


def run(repo: Path, *cmd: str) -> str:
    done = subprocess.run(cmd, cwd=repo, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def dvc(repo: Path, *args: str) -> str:
    return run(repo, sys.executable, "-m", "dvc", *args)


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def reruns(repo: Path, changes: dict, targets: set[str]) -> set[str]:
    """The stages `dvc repro TARGETS` runs after `changes` to params.yaml: which of `targets` (and of
    the stages upstream of them) a change re-runs, without running what lies downstream of them.
    params.yaml, dvc.lock and the outputs are restored afterwards."""
    apply_profile(repo / "params.yaml", changes)
    try:
        return ran_stages(dvc(repo, "repro", *sorted(targets)))
    finally:
        restore(repo)


def restore(repo: Path) -> None:
    """The committed params, dvc.lock and outputs back, after a run of changed params."""
    run(repo, "git", "checkout", "--", ".")
    dvc(repo, "checkout", "-q")


def make_repo(root: Path, model_dir: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, repo / name)
    apply_profile(repo / "params.yaml", {**load_profile("tiny", ROOT / "profiles"), "model.name": str(model_dir)})
    run(repo, "git", "init", "-q")
    dvc(repo, "init", "-q")
    shutil.copy(ROOT / ".dvc/config", repo / ".dvc/config")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "tiny profile")
    return repo


def start(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """`cmd` in its own process group (so that a kill takes its children too), output discarded."""
    return subprocess.Popen(cmd, cwd=cwd, env=env or _env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_when(job: subprocess.Popen, ready: Callable[[], bool], timeout_s: float = 600) -> None:
    """kill -9 `job`'s process group as soon as `ready()` holds (or when it ends or times out)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and job.poll() is None and not ready():
        time.sleep(0.005)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()


def checkpoint_reached(scratch: Path, step: int) -> Callable[[], bool]:
    """Whether Trainer has written a checkpoint of `step` or later steps into `scratch`."""
    return lambda: any((path / "trainer_state.json").is_file() for path in scratch.glob("checkpoint-*")
                       if int(path.name.split("-")[1]) >= step)
