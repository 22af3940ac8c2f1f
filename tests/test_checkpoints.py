"""A damaged checkpoint is found before Trainer reads it: it is said in one line and removed, and the
run resumes from the one before it, or starts over; on tiny real fine-tunes (full and LoRA)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from isara.config.training import Finetune, Lora
from isara.train.checkpoints import checkpoint_problem, last_checkpoint, prepare_scratch
from isara.lm.models import load_model
from isara.lm.prompts import format_for
from isara.train.sft import finetune
from tests.test_finetune_scale import stage_project, training_rows

ROWS = training_rows(8)
FULL = Finetune(epochs=1, learning_rate=5e-3, warmup_ratio=0.0, batch_size=4, save_steps=1)  # 2 steps
LORA = Finetune(method="lora", epochs=1, learning_rate=5e-2, warmup_ratio=0.0, batch_size=4, save_steps=1,
                lora=Lora(r=4, alpha=8, dropout=0.0))


def train(base: Path, scratch: Path, cfg: Finetune):
    model, tokenizer = load_model(base, torch.device("cpu"), torch.float32)
    return finetune(model, tokenizer, format_for(tokenizer), ROWS, cfg, 0, scratch, "test")


def weights_of(trained) -> dict:
    return {k: v.detach().clone() for k, v in trained.trainer.model.state_dict().items()}


@pytest.fixture(scope="module")
def full_run(tiny_llama, tmp_path_factory) -> tuple[Path, dict]:
    """A scratch folder holding checkpoint-1 and checkpoint-2 of a full fine-tune, and its end weights."""
    scratch = tmp_path_factory.mktemp("full") / "scratch"
    return scratch, weights_of(train(tiny_llama, scratch, FULL))


@pytest.fixture(scope="module")
def lora_run(tiny_llama, tmp_path_factory) -> tuple[Path, dict]:
    scratch = tmp_path_factory.mktemp("lora") / "scratch"
    return scratch, weights_of(train(tiny_llama, scratch, LORA))


@pytest.fixture
def scratch(full_run, tmp_path) -> Path:
    """A fresh copy of the full fine-tune's scratch folder."""
    return Path(shutil.copytree(full_run[0], tmp_path / "scratch"))


def truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def set_state(folder: Path, **changes) -> None:
    state = json.loads((folder / "trainer_state.json").read_text())
    (folder / "trainer_state.json").write_text(json.dumps({**state, **changes}))


# how a checkpoint is damaged -> what the verifier says is wrong
DAMAGE = {
    "truncated weights": (lambda c: truncate(c / "model.safetensors"),
                          "model.safetensors does not load (Error while deserializing header"),
    "truncated optimizer": (lambda c: truncate(c / "optimizer.pt"),
                            "optimizer.pt does not load (PytorchStreamReader failed reading zip archive"),
    "garbled trainer state": (lambda c: (c / "trainer_state.json").write_text('{"global_step": 2, "log_hist'),
                              "trainer_state.json does not load (Unterminated string"),
    "deleted weights": (lambda c: (c / "model.safetensors").unlink(), "it holds no weights"),
}
MORE_DAMAGE = {
    "truncated scheduler": (lambda c: truncate(c / "scheduler.pt"), "scheduler.pt does not load"),
    "truncated rng state": (lambda c: truncate(c / "rng_state.pth"), "rng_state.pth does not load"),
    "deleted optimizer": (lambda c: (c / "optimizer.pt").unlink(), "it holds no optimizer state"),
    "garbled config": (lambda c: (c / "config.json").write_text("[1, 2"), "config.json does not load"),
    "state of another step": (lambda c: set_state(c, global_step=1), "global_step 1, not 2"),
    "state with unknown fields": (lambda c: set_state(c, weights="x"), "trainer_state.json is not a trainer state"),
    "state without history": (lambda c: set_state(c, log_history=None), "has no list of logged steps"),
    "state that is a list": (lambda c: (c / "trainer_state.json").write_text("[]"),
                             "trainer_state.json is not a JSON object"),
    "a missing shard": (lambda c: (c / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"w": "model.safetensors", "v": "model-00002-of-00002.safetensors"}})),
        "names 1 missing shard(s), first model-00002-of-00002.safetensors"),
}


def test_the_checkpoints_of_a_sound_run_verify(full_run, lora_run):
    for scratch, _ in (full_run, lora_run):
        assert sorted(p.name for p in scratch.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
        assert checkpoint_problem(scratch / "checkpoint-1") is None
        assert checkpoint_problem(scratch / "checkpoint-2") is None


@pytest.mark.parametrize("how", [*DAMAGE, *MORE_DAMAGE])
def test_the_verifier_names_what_is_wrong(scratch, how):
    damage, said = {**DAMAGE, **MORE_DAMAGE}[how]
    damage(scratch / "checkpoint-2")
    problem = checkpoint_problem(scratch / "checkpoint-2")
    assert problem is not None and said in problem and "\n" not in problem and len(problem) < 200
    assert checkpoint_problem(scratch / "checkpoint-1") is None


@pytest.mark.parametrize("how", ["truncated", "deleted"])
def test_a_damaged_lora_adapter_is_found(lora_run, tmp_path, how):
    folder = Path(shutil.copytree(lora_run[0] / "checkpoint-2", tmp_path / "checkpoint-2"))
    adapter = folder / "adapter_model.safetensors"
    truncate(adapter) if how == "truncated" else adapter.unlink()
    said = "adapter_model.safetensors does not load" if how == "truncated" else "it holds no weights"
    assert said in checkpoint_problem(folder)


def test_a_damaged_checkpoint_is_removed_and_the_one_before_kept(scratch, capsys):
    truncate(scratch / "checkpoint-2/optimizer.pt")
    prepare_scratch(scratch, "test", True, lambda: None)
    assert last_checkpoint(scratch) == scratch / "checkpoint-1"
    assert sorted(p.name for p in scratch.glob("checkpoint-*")) == ["checkpoint-1"]
    damaged, instead = capsys.readouterr().err.splitlines()
    assert damaged.startswith(f"finetune: checkpoint {scratch / 'checkpoint-2'} is damaged, removed: optimizer.pt "
                              "does not load (PytorchStreamReader failed reading zip archive: failed finding central")
    assert instead == f"finetune: resuming from {scratch / 'checkpoint-1'} instead"


def test_a_sound_last_checkpoint_is_kept_silently(scratch, capsys):
    prepare_scratch(scratch, "test", True, lambda: None)
    assert sorted(p.name for p in scratch.glob("checkpoint-*")) == ["checkpoint-2"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("how", DAMAGE)
def test_resuming_falls_back_to_the_checkpoint_before(tiny_llama, full_run, scratch, capsys, how):
    """Damaged checkpoint-2: the run resumes from checkpoint-1 and ends with an uninterrupted run's weights."""
    damage, said = DAMAGE[how]
    damage(scratch / "checkpoint-2")
    trained = train(tiny_llama, scratch, FULL)
    err = capsys.readouterr().err
    assert trained.resumed_from == 1 and trained.stats["steps"] == 2
    assert f"checkpoint {scratch / 'checkpoint-2'} is damaged, removed: {said}" in err
    assert f"resuming from {scratch / 'checkpoint-1'} instead" in err
    after, expected = weights_of(trained), full_run[1]
    assert max((after[k] - expected[k]).abs().max().item() for k in expected) < 1e-5


def test_with_no_checkpoint_left_training_starts_over(tiny_llama, full_run, scratch, capsys):
    shutil.rmtree(scratch / "checkpoint-1")
    (scratch / "checkpoint-2/model.safetensors").unlink()
    trained = train(tiny_llama, scratch, FULL)
    err = capsys.readouterr().err.splitlines()
    assert trained.resumed_from == 0 and trained.stats["steps"] == 2
    assert [line for line in err if line.startswith("finetune:")] == [
        f"finetune: checkpoint {scratch / 'checkpoint-2'} is damaged, removed: it holds no weights",
        f"finetune: no usable checkpoint left in {scratch}: training starts over",
    ]
    after, expected = weights_of(trained), full_run[1]
    assert max((after[k] - expected[k]).abs().max().item() for k in expected) < 1e-5


def test_a_lora_run_falls_back_past_a_truncated_adapter(tiny_llama, lora_run, tmp_path, capsys):
    scratch = Path(shutil.copytree(lora_run[0], tmp_path / "scratch"))
    truncate(scratch / "checkpoint-2/adapter_model.safetensors")
    trained = train(tiny_llama, scratch, LORA)
    assert trained.resumed_from == 1 and "adapter_model.safetensors does not load" in capsys.readouterr().err
    after, expected = weights_of(trained), lora_run[1]
    assert max((after[k] - expected[k]).abs().max().item() for k in expected) < 1e-5


def test_the_stage_resumes_past_a_damaged_checkpoint_with_exit_status_0(tmp_path, tiny_llama, monkeypatch):
    """stages/finetune.py run in this process: a first run leaves its checkpoints (as a kill after the
    last save would), the last one is garbled, and the rerun falls back, finishes and says so."""
    import stages.finetune as stage

    project = stage_project(tmp_path / "p", tiny_llama, epochs=1, batch_size=8, save_steps=1)
    monkeypatch.chdir(project)
    args = ["--name", "iter1", "--stage", "finetune@iter1", "--train", "train.jsonl", "--base", "base",
            "--previous", "base", "--out", "models/iter1", "--metrics", "metrics/iter1/train.json",
            "--curves", "metrics/iter1/training"]
    with monkeypatch.context() as patched:
        patched.setattr("isara.train.finetune.remove_scratch", lambda scratch: None)
        first = CliRunner().invoke(stage.main, args)
    assert first.exit_code == 0, first.output
    scratch = project / "models/iter1.checkpoints"
    (scratch / "checkpoint-2/trainer_state.json").write_text("{garbled")
    again = CliRunner().invoke(stage.main, args)
    assert again.exit_code == 0, again.output
    assert "checkpoint-2 is damaged, removed: trainer_state.json does not load" in again.stderr
    assert "resumed at step 1" in again.stdout and "Traceback" not in again.output
    assert not scratch.exists() and (project / "models/iter1/model.safetensors").is_file()
