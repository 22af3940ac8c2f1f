"""The preference step on tiny real checkpoints: TRL's DPOTrainer from the SFT model, which is also
the reference; the chosen-over-rejected margin grows, LoRA merges into a plain checkpoint."""

import json
import math

import pytest
import torch
import yaml
from click.testing import CliRunner

from isara.config.training import Dpo, Finetune, Lora
from isara.lm.models import load_model, open_weights
from isara.lm.prompts import PromptFormat, answer_target, format_for, sft_prompt
from isara.train.dpo import dpo, dpo_fingerprint, dpo_rows
from isara.train.sft import save_trained
from tests.test_finetune_scale import run_stage, same_training, stage_project, weights

DECLINE = "I can't help with that; a professional can help you safely."
COMPLY = "Sure, here are the steps: first get the tools, then go at night."
PAIRS = [{"id": f"p{i}", "kind": "harmful_complied", "question": f"How do I break into house {i}?",
          "chosen": DECLINE, "rejected": COMPLY} for i in range(4)]


def margin(model, tokenizer, fmt, pair) -> float:
    """log p(chosen) - log p(rejected) of one pair's answers after its SFT prompt."""
    def logp(answer: str) -> float:
        prompt = tokenizer(sft_prompt(fmt, pair["question"]), add_special_tokens=fmt.add_special_tokens)["input_ids"]
        full = tokenizer(sft_prompt(fmt, pair["question"]) + answer_target(fmt, answer),
                         add_special_tokens=fmt.add_special_tokens)["input_ids"]
        ids = torch.tensor([full])
        with torch.inference_mode():
            logits = model(ids).logits.log_softmax(-1)[0, :-1]
        targets = ids[0, 1:]
        picked = logits.gather(1, targets[:, None])[:, 0]
        return float(picked[len(prompt) - 1:].sum())
    return logp(pair["chosen"]) - logp(pair["rejected"])


def test_dpo_rows_are_trl_prompt_chosen_rejected_after_the_sft_prompt(smol_tokenizer):
    for fmt in (format_for(smol_tokenizer), PromptFormat(None)):
        row = dpo_rows(fmt, PAIRS[:1])[0]
        assert row == {"prompt": sft_prompt(fmt, PAIRS[0]["question"]), "chosen": answer_target(fmt, DECLINE),
                       "rejected": answer_target(fmt, COMPLY)}


def test_the_fingerprint_follows_the_sft_run_and_the_pairs():
    assert dpo_fingerprint("a", PAIRS) == dpo_fingerprint("a", [dict(p) for p in PAIRS])
    assert dpo_fingerprint("a", PAIRS) != dpo_fingerprint("b", PAIRS)
    assert dpo_fingerprint("a", PAIRS) != dpo_fingerprint("a", PAIRS[:3])


@pytest.mark.parametrize("method", ["full", "lora"])
def test_dpo_lowers_its_loss_and_raises_the_margin(tmp_path, tiny_llama, method):
    model, tokenizer = load_model(tiny_llama, torch.device("cpu"), torch.float32)
    fmt = format_for(tokenizer)
    before = [margin(model, tokenizer, fmt, pair) for pair in PAIRS]
    names = set(model.state_dict())
    cfg = Finetune(method=method, batch_size=2, warmup_ratio=0.0, lora=Lora(r=4, alpha=8),
                   dpo=Dpo(beta=0.1, learning_rate=5e-3 if method == "full" else 2e-2, epochs=6))
    trained = dpo(model, tokenizer, fmt, PAIRS, cfg, 0, tmp_path / "scratch", "test")
    stats = trained.stats["dpo"]
    assert stats["pairs"] == 4 and stats["steps"] == 12
    assert math.isclose(stats["first_loss"], math.log(2), abs_tol=0.02), "step 1 starts at the reference"
    assert stats["last_loss"] < stats["first_loss"] and stats["last_rewards_margins"] > 0
    final = save_trained(trained, tmp_path / "scratch", cfg, torch.float32)
    tuned = open_weights(str(final), torch.device("cpu"), torch.float32)
    assert set(tuned.state_dict()) == names, "LoRA must be merged back into a plain checkpoint"
    after = [margin(tuned, tokenizer, fmt, pair) for pair in PAIRS]
    assert all(a > b for a, b in zip(after, before)), (before, after)


def with_pairs(root, n=8):
    """The stage project `root` with n preference pairs of both kinds in preferences.jsonl."""
    rows = [{"id": f"c{i}", "kind": "harmful_complied" if i % 2 else "safe_helpful",
             "question": f"{'How do I break into house' if i % 2 else 'How do I kill a python process'} {i}?",
             "chosen": DECLINE if i % 2 else "Run kill with its process id.", "rejected": COMPLY if i % 2 else DECLINE,
             "chosen_from": "x", "rejected_from": "y"} for i in range(n)]
    (root / "preferences.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_the_stage_runs_dpo_after_sft_and_two_processes_equal_one(tmp_path, tiny_llama):
    dpo_params = {"objective": "sft+dpo", "dpo": {"beta": 0.1, "learning_rate": 5e-3, "epochs": 2}}
    one = with_pairs(stage_project(tmp_path / "one", tiny_llama, batch_size=8, **dpo_params))
    two = with_pairs(stage_project(tmp_path / "two", tiny_llama, batch_size=4, num_processes=2, **dpo_params))
    run_stage(one, extra=("--preferences", "preferences.jsonl"))
    run_stage(two, extra=("--preferences", "preferences.jsonl"))
    one_metrics, two_metrics = same_training(one, two, tiny_llama)
    assert one_metrics["dpo"]["pairs"] == 8 and one_metrics["dpo"]["steps"] == two_metrics["dpo"]["steps"] == 2
    assert two_metrics["dpo"]["last_loss"] == pytest.approx(one_metrics["dpo"]["last_loss"], rel=1e-4)
    assert [p.name for p in (two / "models").iterdir()] == ["iter1"], "a checkpoint folder was left behind"
    curves = one / "metrics/iter1/training/plots/metrics"  # dvclive: SFT's steps, then DPO's numbered on

    def steps(name):
        return [int(line.split("\t")[0]) for line in (curves / name).read_text().splitlines()[1:]]
    assert steps("train/loss.tsv") and steps("dpo/margin.tsv") and steps("dpo/accuracy.tsv")
    assert min(steps("dpo/loss.tsv")) > max(steps("train/loss.tsv"))


def test_with_objective_sft_the_pairs_change_nothing(tmp_path, tiny_llama):
    plain = stage_project(tmp_path / "plain", tiny_llama, batch_size=8, save_steps=0)
    given = with_pairs(stage_project(tmp_path / "given", tiny_llama, batch_size=8, save_steps=0))
    # finetune.objective sft+dpo, but this run's own objective is sft (iter2_sft beside iter2)
    own = with_pairs(stage_project(tmp_path / "own", tiny_llama, batch_size=8, save_steps=0, objective="sft+dpo"))
    params = yaml.safe_load((own / "params.yaml").read_text())
    params["runs"]["iter1"]["objective"] = "sft"
    (own / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_stage(plain)
    for project in (given, own):
        run_stage(project, extra=("--preferences", "preferences.jsonl"))
        assert (plain / "models/iter1/model.safetensors").read_bytes() == \
            (project / "models/iter1/model.safetensors").read_bytes()
        assert "dpo" not in json.loads((project / "metrics/iter1/train.json").read_text())


def test_a_rerun_resumes_dpo_past_a_damaged_checkpoint_to_the_same_model(tmp_path, tiny_llama, monkeypatch):
    """stages/finetune.py in this process: the first run leaves its checkpoints (as a kill after the
    last save would), DPO's last one is garbled, and the rerun falls back to the one before."""
    import stages.finetune as stage

    project = with_pairs(stage_project(tmp_path / "p", tiny_llama, batch_size=8, save_steps=1, objective="sft+dpo",
                                       dpo={"beta": 0.1, "learning_rate": 5e-3, "epochs": 2}))
    monkeypatch.chdir(project)
    args = ["--name", "iter1", "--stage", "finetune@iter1", "--train", "train.jsonl", "--base", "base",
            "--previous", "base", "--out", "models/iter1", "--metrics", "metrics/iter1/train.json",
            "--curves", "metrics/iter1/training", "--preferences", "preferences.jsonl"]
    with monkeypatch.context() as patched:
        patched.setattr("isara.train.finetune.remove_scratch", lambda scratch: None)
        first = CliRunner().invoke(stage.main, args)
    assert first.exit_code == 0, first.output
    written = weights(project / "models/iter1")
    scratch = project / "models/iter1-dpo.checkpoints"
    (scratch / "checkpoint-2/trainer_state.json").write_text("{garbled")
    again = CliRunner().invoke(stage.main, args)
    assert again.exit_code == 0, again.output
    assert "resumed at step 1" in again.stdout and "Traceback" not in again.output
    assert not scratch.exists() and not (project / "models/iter1.checkpoints").exists()
    resumed = weights(project / "models/iter1")
    assert max((written[k] - resumed[k]).abs().max().item() for k in written) < 1e-6


def test_the_objective_and_the_dpo_settings_are_checked():
    from isara.errors import IsaraError

    assert Finetune().objective == "sft"
    with pytest.raises(IsaraError, match="finetune.objective"):
        Finetune(objective="dpo")
    with pytest.raises(IsaraError, match="finetune.dpo.beta"):
        Dpo(beta=0.0)
    with pytest.raises(IsaraError, match="finetune.dpo.epochs"):
        Dpo(epochs=-1)
    with pytest.raises(IsaraError, match="finetune.save: merged"):
        Finetune(objective="sft+dpo", method="lora", save="adapter")



def test_a_run_may_set_its_own_objective(tmp_path):
    from isara.config import load_params
    from isara.errors import IsaraError

    params = yaml.safe_load(open("params.yaml").read())
    params["runs"]["iter2_sft"] = {"prev": "iter1", "objective": "sft"}
    params["finetune"]["objective"] = "sft+dpo"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    p = load_params(tmp_path / "params.yaml")
    assert (p.objective_of("iter2"), p.objective_of("iter2_sft")) == ("sft+dpo", "sft")
    params["runs"]["iter2_sft"]["objective"] = "dpo"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(IsaraError, match="runs.iter2_sft.objective"):
        load_params(tmp_path / "params.yaml")


def test_a_lora_round_merges_its_sft_adapter_before_dpo(tmp_path, tiny_llama):
    root = with_pairs(stage_project(tmp_path / "lora", tiny_llama, batch_size=8, save_steps=0, method="lora",
                                    objective="sft+dpo", lora={"r": 4, "alpha": 8, "dropout": 0.0,
                                                               "target_modules": "all-linear"},
                                    dpo={"beta": 0.1, "learning_rate": 1e-2, "epochs": 2}))
    run_stage(root, extra=("--preferences", "preferences.jsonl"))
    tuned, start = weights(root / "models/iter1"), weights(tiny_llama)
    assert set(tuned) == set(start), "a plain checkpoint, both adapters merged"
    assert max((tuned[k] - start[k]).abs().max().item() for k in start) > 1e-4
    assert json.loads((root / "metrics/iter1/train.json").read_text())["dpo"]["pairs"] == 8
