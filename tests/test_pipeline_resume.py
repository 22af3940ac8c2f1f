"""A stage killed mid-run (kill -9), then `dvc repro`: generate continues from its resume log,
finetune (SFT, and its DPO step) from its last checkpoint, ending where an uninterrupted run ends."""

from __future__ import annotations

import re
import sys

import pytest

from isara.profiles import apply_profile
from tests.pipeline_repo import checkpoint_reached, dvc, kill_when, make_repo, run, start

pytestmark = pytest.mark.pipeline


def test_generate_killed_mid_run_resumes_to_the_same_output(tmp_path, tiny_llama):
    """kill -9 during generate, then `dvc repro`: it continues from the last finished batch and
    writes byte for byte what an uninterrupted run writes; the partial log is gone afterwards."""
    repo = make_repo(tmp_path, tiny_llama)
    apply_profile(repo / "params.yaml", {"generation.samples_per_iteration": 40, "generation.batch_size": 1})
    run(repo, "git", "commit", "-qam", "one prompt per batch")
    log = repo / "work/iter1/candidates.jsonl.partial/rank-0.jsonl"
    job = start([sys.executable, "-m", "dvc", "repro", "generate@iter1"], repo)
    kill_when(job, lambda: log.is_file() and log.read_text().count("\n") >= 3)
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


def killed_and_resumed(repo, scratch, step: int) -> tuple[str, float]:
    """kill -9 `dvc repro finetune@iter1` once `scratch` holds a checkpoint of `step` or later, then
    `dvc repro` again: (its output, the largest weight difference from a forced uninterrupted run)."""
    from safetensors.torch import load_file

    kill_when(start([sys.executable, "-m", "dvc", "repro", "finetune@iter1"], repo), checkpoint_reached(scratch, step))
    out = repo / "models/iter1"
    assert not out.exists(), "the run was not killed mid-way"
    resumed = dvc(repo, "repro", "finetune@iter1")
    assert not scratch.exists()
    after_kill = load_file(out / "model.safetensors")
    uninterrupted = dvc(repo, "repro", "-f", "-s", "finetune@iter1")
    assert "resumed" not in uninterrupted
    again = load_file(out / "model.safetensors")
    return resumed, max((after_kill[k] - again[k]).abs().max().item() for k in again)


def test_finetune_killed_mid_run_resumes_from_its_checkpoint(tmp_path, tiny_llama):
    """kill -9 during finetune, then `dvc repro`: it resumes from the last complete checkpoint and
    ends with the weights of an uninterrupted run; the checkpoint folder is gone afterwards."""
    repo = make_repo(tmp_path, tiny_llama)
    apply_profile(repo / "params.yaml", {"finetune.batch_size": 1, "finetune.epochs": 2, "finetune.save_steps": 2})
    run(repo, "git", "commit", "-qam", "a checkpoint every 2 steps")
    dvc(repo, "repro", "mix@iter1")
    resumed, apart = killed_and_resumed(repo, repo / "models/iter1.checkpoints", 4)
    assert re.search(r"resumed at step \d+", resumed), resumed[-2000:]
    assert apart < 1e-5


def test_dpo_killed_mid_run_resumes_from_its_checkpoint(tmp_path, tiny_llama):
    """finetune.objective sft+dpo: kill -9 during the DPO step, then `dvc repro`: DPO resumes from its
    last complete checkpoint and the stage ends where an uninterrupted run ends."""
    repo = make_repo(tmp_path, tiny_llama)
    apply_profile(repo / "params.yaml", {"finetune.batch_size": 1, "finetune.save_steps": 2,
                                         "finetune.objective": "sft+dpo", "finetune.dpo.epochs": 4})
    run(repo, "git", "commit", "-qam", "SFT then DPO, a checkpoint every 2 steps")
    dvc(repo, "repro", "mix@iter1", "preferences@iter1")
    pairs = (repo / "work/iter1/preferences.jsonl").read_text().count("\n")
    assert pairs >= 1, "the tiny round made no preference pair: nothing to kill DPO in"
    resumed, apart = killed_and_resumed(repo, repo / "models/iter1-dpo.checkpoints", 2)
    step = re.search(r"resumed at step (\d+)", resumed)
    assert step and 2 <= int(step.group(1)) < 4 * pairs, resumed[-2000:]
    assert not (repo / "models/iter1.checkpoints").exists()
    assert apart < 1e-5
