"""A stage killed mid-run (kill -9), then `dvc repro`: generate continues from its resume log and
finetune from its last checkpoint, ending where an uninterrupted run ends."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from isara.profiles import apply_profile
from tests.pipeline_repo import _env, dvc, make_repo, run

pytestmark = pytest.mark.pipeline


def test_generate_killed_mid_run_resumes_to_the_same_output(tmp_path, tiny_llama):
    """kill -9 during generate, then `dvc repro`: it continues from the last finished batch and
    writes byte for byte what an uninterrupted run writes; the partial log is gone afterwards."""
    repo = make_repo(tmp_path, tiny_llama)
    apply_profile(repo / "params.yaml", {"generation.samples_per_iteration": 40, "generation.batch_size": 1})
    run(repo, "git", "commit", "-qam", "one prompt per batch")
    log = repo / "work/iter1/candidates.jsonl.partial/rank-0.jsonl"
    job = subprocess.Popen([sys.executable, "-m", "dvc", "repro", "generate@iter1"], cwd=repo, env=_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        if log.is_file() and log.read_text().count("\n") >= 3:
            break
        time.sleep(0.005)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    logged = log.read_text().count("\n")
    out = repo / "work/iter1/candidates.jsonl"
    assert 3 <= logged < 40 and not out.exists(), "the run was not killed mid-way"
    resumed = dvc(repo, "repro", "generate@iter1")
    assert f"resuming, {logged} of 40 batches already done" in resumed
    assert not log.parent.exists()
    after_kill = out.read_bytes()
    uninterrupted = dvc(repo, "repro", "-f", "-s", "generate@iter1")  # forced: no run cache, no log
    assert "resuming" not in uninterrupted and "Running stage 'generate@iter1'" in uninterrupted
    assert out.read_bytes() == after_kill


def test_finetune_killed_mid_run_resumes_from_its_checkpoint(tmp_path, tiny_llama):
    """kill -9 during finetune, then `dvc repro`: it resumes from the last complete checkpoint and
    ends with the weights of an uninterrupted run; the checkpoint folder is gone afterwards."""
    from safetensors.torch import load_file

    repo = make_repo(tmp_path, tiny_llama)
    apply_profile(repo / "params.yaml", {"finetune.batch_size": 1, "finetune.epochs": 2, "finetune.save_steps": 2})
    run(repo, "git", "commit", "-qam", "a checkpoint every 2 steps")
    dvc(repo, "repro", "mix@iter1")
    scratch = repo / "models/iter1.checkpoints"
    job = subprocess.Popen([sys.executable, "-m", "dvc", "repro", "finetune@iter1"], cwd=repo, env=_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        if any((path / "trainer_state.json").is_file() for path in scratch.glob("checkpoint-*")
               if int(path.name.split("-")[1]) >= 4):
            break
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    out = repo / "models/iter1"
    assert not out.exists(), "the run was not killed mid-way"
    resumed = dvc(repo, "repro", "finetune@iter1")
    assert re.search(r"resumed at step \d+", resumed), resumed[-2000:]
    assert not scratch.exists()
    after_kill = load_file(out / "model.safetensors")
    uninterrupted = dvc(repo, "repro", "-f", "-s", "finetune@iter1")
    assert "resumed" not in uninterrupted
    again = load_file(out / "model.safetensors")
    assert max((after_kill[k] - again[k]).abs().max().item() for k in again) < 1e-5
