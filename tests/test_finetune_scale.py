"""Fine-tuning as it runs at scale, on tiny real checkpoints: several processes (gloo), gradient
accumulation, mixed precision, checkpoints and resume, LoRA adapters as outputs, the memory check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from isara.config.training import Finetune, Lora
from isara.errors import IsaraError
from isara.lm.models import load_model, open_weights
from isara.lm.reference import write_reference
from isara.lm.sources import adapter_base
from isara.lm.prompts import format_for, sft_prompt
from isara.train.sft import finetune, prepare_model, train_precision
from tests.conftest import ROOT

QUESTIONS = ["How do I store bleach safely?", "Can I mix cleaning products?", "What is a safe way to dispose of "
             "old batteries?", "How do I report a gas leak?", "Is it safe to leave a candle burning overnight?",
             "What should be in a first aid kit?", "How do I childproof a kitchen?", "Can I reuse cooking oil?"]


def training_rows(n: int = 16) -> list[dict]:
    return [{"question": f"{QUESTIONS[i % 8]} ({i})", "answer": f"Answer {i}: follow the label and ask a "
             "professional when unsure.", "weight": 0.5 + (i % 3) * 0.25, "source": "seed"} for i in range(n)]


def stage_project(root: Path, base: Path, reference: bool = False, **finetune: object) -> Path:
    """A folder to run stages/finetune.py in: params.yaml (finetune overrides), train.jsonl and
    `base`: a link to the model, or with `reference` a folder referring to it as models/iter0 does."""
    root.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["finetune"].update({"epochs": 2, "learning_rate": 5e-3, "warmup_ratio": 0.0, **finetune})
    params["model"]["dtype"] = "float32"  # weights compared within float32 reduction order, not bf16 autocast's
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in training_rows()))
    if reference:
        write_reference(root / "base", {"source": str(base), "kind": "folder"})
    else:
        (root / "base").symlink_to(base)
    return root


def run_stage(root: Path, previous: str = "base", out: str = "models/iter1", check: bool = True, extra=()):
    cmd = [sys.executable, str(ROOT / "stages/finetune.py"), "--name", "iter1", "--stage", "finetune@iter1",
           "--train", "train.jsonl", "--base", "base", "--previous", previous, "--out", out,
           "--metrics", "metrics/iter1/train.json", "--curves", "metrics/iter1/training", *extra]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def weights(folder: Path) -> dict:
    return load_file(folder / "model.safetensors")


def same_training(one: Path, two: Path, start: Path) -> tuple[dict, dict]:
    """Assert that the stage projects `one` and `two` trained `start` to the same weights (within
    float32 reduction order), and moved it; their train.json metrics."""
    a, b, first = weights(one / "models/iter1"), weights(two / "models/iter1"), weights(start)
    moved = max((a[k] - first[k]).abs().max().item() for k in a)
    apart = max((a[k] - b[k]).abs().max().item() for k in a)
    assert moved > 1e-3 and apart < 1e-5 * max(1.0, moved) * 100, (moved, apart)
    return tuple(json.loads((root / "metrics/iter1/train.json").read_text()) for root in (one, two))


def test_two_processes_equal_one_with_the_same_global_batch_and_only_one_writes(tmp_path, tiny_llama):
    one = stage_project(tmp_path / "one", tiny_llama, batch_size=8)
    two = stage_project(tmp_path / "two", tiny_llama, batch_size=4, num_processes=2)
    run_stage(one)
    done = run_stage(two)
    assert done.stdout.count("fine-tuned") == 1 and "2 process(es)" in done.stdout
    one_metrics, two_metrics = same_training(one, two, tiny_llama)
    assert two_metrics["steps"] == one_metrics["steps"] == 4
    assert two_metrics["train_loss"] == pytest.approx(one_metrics["train_loss"], rel=1e-5)
    leftovers = [p.name for p in (two / "models").iterdir() if p.name != "iter1"]
    assert leftovers == [], "the checkpoint folder or a temporary copy was left behind"
    curves = (two / "metrics/iter1/training/plots/metrics/train/loss.tsv").read_text().splitlines()
    assert curves[0] == "step\tloss" and len(curves) == 5


def logged_steps(tmp_path, tiny_llama, batch: int, accum: int) -> list[dict]:
    model, tokenizer = load_model(tiny_llama, torch.device("cpu"), torch.float32)
    cfg = Finetune(epochs=1, learning_rate=5e-3, warmup_ratio=0.0, batch_size=batch, grad_accum=accum,
                   save_steps=0)
    trained = finetune(model, tokenizer, format_for(tokenizer), training_rows(), cfg, 0,
                       tmp_path / f"b{batch}g{accum}", "test")
    return [entry for entry in trained.trainer.state.log_history if "loss" in entry]


def test_gradient_accumulation_equals_one_bigger_batch(tmp_path, tiny_llama):
    accumulated = logged_steps(tmp_path, tiny_llama, batch=4, accum=2)
    whole = logged_steps(tmp_path, tiny_llama, batch=8, accum=1)
    assert len(accumulated) == len(whole) == 2
    for a, w in zip(accumulated, whole):
        assert a["loss"] == pytest.approx(w["loss"], rel=1e-5)
        assert a["grad_norm"] == pytest.approx(w["grad_norm"], rel=1e-4), "gradients scaled by grad_accum"


def test_mixed_precision_keeps_float32_masters_and_adapters(tiny_llama):
    cpu = torch.device("cpu")
    assert train_precision("full", torch.bfloat16, cpu) == (torch.float32, True, False)
    assert train_precision("lora", torch.bfloat16, cpu) == (torch.bfloat16, True, False)
    with pytest.raises(IsaraError, match="float16 trains only on a CUDA device"):
        train_precision("full", torch.float16, cpu)
    base, _ = load_model(tiny_llama, cpu, torch.bfloat16)
    lora = prepare_model(base, Finetune(method="lora", lora=Lora(r=4, alpha=8)))
    trainable = [p for p in lora.parameters() if p.requires_grad]
    assert trainable and all(p.dtype == torch.float32 for p in trainable)
    assert any(p.dtype == torch.bfloat16 for p in lora.parameters() if not p.requires_grad)


def test_full_finetune_under_bf16_autocast_trains_float32_weights(tmp_path, tiny_llama):
    model, tokenizer = load_model(tiny_llama, torch.device("cpu"), torch.float32)
    cfg = Finetune(epochs=1, learning_rate=5e-3, batch_size=8, save_steps=0)
    trained = finetune(model, tokenizer, format_for(tokenizer), training_rows(), cfg, 0, tmp_path / "s", "t",
                       autocast=(True, False))
    assert trained.trainer.args.bf16 and trained.stats["steps"] == 2
    assert all(p.dtype == torch.float32 for p in trained.trainer.model.parameters())


def greedy(model, tokenizer, question: str) -> str:
    fmt = format_for(tokenizer)
    encoded = tokenizer([sft_prompt(fmt, question)], return_tensors="pt", add_special_tokens=fmt.add_special_tokens)
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, encoded["input_ids"].shape[1]:])


def test_an_adapter_round_loads_like_its_merged_form_and_trains_on(tmp_path, tiny_llama, monkeypatch):
    lora = {"method": "lora", "learning_rate": 5e-2, "lora": {"r": 4, "alpha": 8, "dropout": 0.0,
                                                              "target_modules": "all-linear"}}
    adapter = stage_project(tmp_path / "adapter", tiny_llama, reference=True, save="adapter", **lora)
    merged = stage_project(tmp_path / "merged", tiny_llama, save="merged", **lora)
    run_stage(adapter)
    run_stage(merged)
    folder = adapter / "models/iter1"
    # the base folder as the stage was given it, relative to the project, not the weights it refers to
    assert adapter_base(folder) == "base" and not (folder / "model.safetensors").exists()
    size = (folder / "adapter_model.safetensors").stat().st_size
    assert size * 4 < (merged / "models/iter1/model.safetensors").stat().st_size

    monkeypatch.chdir(tmp_path)  # found beside the adapter, whatever the working directory
    cpu = torch.device("cpu")
    from_adapter, tokenizer = load_model(folder, cpu, torch.float32)
    from_merged, _ = load_model(merged / "models/iter1", cpu, torch.float32)
    base, _ = load_model(tiny_llama, cpu, torch.float32)
    texts = {greedy(m, tokenizer, q) for m in (from_adapter, from_merged) for q in QUESTIONS[:1]}
    assert len(texts) == 1
    assert greedy(base, tokenizer, QUESTIONS[0]) not in texts, "the adapter changed nothing"

    run_stage(adapter, previous="models/iter1", out="models/iter2")  # round 2 trains the same adapter on
    second = adapter / "models/iter2"
    assert adapter_base(second) == "base"
    round2 = open_weights(str(second), cpu, torch.float32).state_dict()
    round1 = from_adapter.state_dict()
    assert any(not torch.equal(round1[k], round2[k]) for k in round1)


def test_an_impossible_memory_request_stops_before_loading_weights(tmp_path, tiny_llama):
    big = tmp_path / "llama-70b"
    big.mkdir()
    (big / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,
        "intermediate_size": 28672, "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8,
        "vocab_size": 128256, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5}))
    project = stage_project(tmp_path / "p", tiny_llama)
    done = run_stage(project, previous=str(big), check=False)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "fine-tuning needs about" in lines[0] and "finetune.method=lora" in lines[0]
    assert "Traceback" not in done.stderr and not (project / "models").exists()


def test_the_memory_estimate_tells_what_a_7b_needs():
    from transformers import LlamaConfig

    from isara.train.memory import GIB, shape_of, training_need

    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                         vocab_size=32000)
    full = training_need(shape_of(config), method="full", weight_bytes=4, autocast=True, batch=16, seq=512,
                         checkpointing=False, optimizer="adamw_torch")
    assert 6.5e9 < full.weights / 4 < 7e9  # LLaMA-7B: 6.7 B parameters
    assert full.total > 80 * GIB  # no single 80 GB GPU holds a full fine-tune
    sharded = training_need(shape_of(config), method="full", weight_bytes=4, autocast=True, batch=4, seq=512,
                            checkpointing=True, optimizer="adamw_torch", shards=8, shard_weights=True)
    lora = training_need(shape_of(config, 16), method="lora", weight_bytes=2, autocast=True, batch=4, seq=512,
                         checkpointing=True, optimizer="adamw_torch")
    assert sharded.total < 40 * GIB and lora.total < 24 * GIB


def test_the_launch_command_comes_from_params(tmp_path, monkeypatch):
    from isara.train.launch import launch_argv

    assert launch_argv(Finetune(), "stages/finetune.py", ["--out", "m"], on_cpu=True, cores=2) is None
    argv = launch_argv(Finetune(num_processes=2), "stages/finetune.py", ["--out", "m"], on_cpu=True, cores=4)
    assert argv[1:3] == ["-m", "accelerate.commands.launch"] and argv[-3:] == ["stages/finetune.py", "--out", "m"]
    assert argv[argv.index("--num_processes") + 1] == "2" and "--multi_gpu" in argv
    assert argv[argv.index("--num_cpu_threads_per_process") + 1] == "2"
    assert argv[argv.index("--main_process_port") + 1] == "0"  # a free port: launches side by side do not meet
    monkeypatch.chdir(ROOT)
    argv = launch_argv(Finetune(num_processes=8, accelerate_config="accelerate/fsdp.yaml"), "s.py", [],
                       on_cpu=False, cores=2)
    assert argv[argv.index("--config_file") + 1] == "accelerate/fsdp.yaml" and "--multi_gpu" not in argv
    with pytest.raises(IsaraError, match="is not a file"):
        launch_argv(Finetune(accelerate_config="accelerate/none.yaml"), "s.py", [], on_cpu=False, cores=2)


@pytest.mark.parametrize("name, kind, sharded", [("fsdp", "FSDP", True), ("deepspeed_zero3", "DEEPSPEED", True),
                                                 ("two_machines", "FSDP", True)])
def test_the_shipped_accelerate_configs_load_and_shard(name, kind, sharded):
    from accelerate.commands.config.config_args import load_config_from_file

    from isara.train.memory import sharding

    path = ROOT / "accelerate" / f"{name}.yaml"
    assert str(load_config_from_file(str(path)).distributed_type).endswith(kind)
    assert sharding(yaml.safe_load(path.read_text()), 8) == (8, sharded)
