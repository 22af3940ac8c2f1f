"""bench/gpu_check.py: its dry run goes through every part on the CPU with the tiny Llama-3-style model
and reports what the GPU run reports; its end-id probes can fail; bad arguments are one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from bench.end_ids import AFTER, PLANT, honoured, plant_paths
from bench.gpu_check import PARTS
from isara.lm.completion import Completion
from tests.conftest import ROOT

SCRIPT = str(ROOT / "bench" / "gpu_check.py")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[dict, str]:
    """(the JSON report, stdout) of one dry run."""
    out = tmp_path_factory.mktemp("gpu-check") / "check.json"
    done = subprocess.run([sys.executable, SCRIPT, "--dry-run", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_every_part_has_a_status_and_a_reason_when_not_ok(dry_run):
    report, _ = dry_run
    assert list(report["parts"]) == list(PARTS)
    for name, part in report["parts"].items():
        assert part["status"] in ("ok", "skipped", "failed"), name
        if part["status"] == "skipped":
            assert part["reason"], name
        if part["status"] == "failed":
            assert part["error"] and "\n" not in part["error"], name
    assert report["dry_run"] is True and report["device"] and report["versions"]["torch"] == torch.__version__


def test_the_parts_a_cpu_can_run_are_ok_with_positive_rates(dry_run):
    parts = dry_run[0]["parts"]
    failed = {name: part.get("error") for name, part in parts.items() if part["status"] == "failed"}
    assert not failed
    assert parts["generation_hf"]["status"] == "ok" and parts["generation_hf"]["tokens_per_s"] > 0
    assert parts["generation_hf"]["useful_tokens"] > 0 and "texts" not in parts["generation_hf"]
    for name in ("train_full", "train_lora", "train_processes"):
        assert parts[name]["status"] == "ok", parts[name]
        assert parts[name]["examples_per_s"] > 0 and parts[name]["steps"] == dry_run[0]["sizes"]["steps"]
    assert parts["train_full"]["processes"] == parts["train_lora"]["processes"] == 1
    assert parts["train_processes"]["processes"] == 2 and parts["train_processes"]["speedup"] > 0
    assert parts["train_full"]["method"] == "full" and parts["train_lora"]["method"] == "lora"
    judge = parts["judge"]
    assert judge["status"] == "ok" and judge["items_per_s"] > 0 and judge["labels"] == 14 and judge["in_range"]


def test_vllm_is_skipped_with_its_reason_where_it_cannot_run(dry_run):
    vllm = dry_run[0]["parts"]["generation_vllm"]
    assert vllm["status"] == "skipped"
    expected = "vllm is not importable" if dry_run[0]["versions"]["vllm"] is None else "--dry-run"
    assert expected in vllm["reason"]


def test_memory_is_estimated_and_said_to_be_unmeasured_on_a_cpu(dry_run):
    parts = dry_run[0]["parts"]
    for name in ("train_full", "train_lora"):
        part = parts[name]
        assert part["estimate_gib"] > 0 and part["estimate_parts_gib"]["total"] == part["estimate_gib"]
        assert part["measured_gib"] is None and "no CUDA device" in part["memory_reason"]
    # full fine-tuning keeps float32 weights, gradients and AdamW moments; LoRA trains a few adapters
    assert parts["train_full"]["estimate_gib"] > parts["train_lora"]["estimate_gib"]
    assert parts["train_full"]["optimizer"] == "adamw_torch"  # no bitsandbytes on a CPU


def test_both_end_ids_were_probed_and_honoured(dry_run):
    ends = dry_run[0]["parts"]["generation_hf"]["end_ids"]
    assert set(ends) == {"<|end_of_text|>", "<|eot_id|>"}
    assert len({end["id"] for end in ends.values()}) == 2
    for end in ends.values():
        assert end["listed"] and end["probes"] > 0
        assert end["stopped"] == end["probes"] and end["ran_past"] == 0


def test_the_table_is_printed_with_one_row_a_part(dry_run):
    report, stdout = dry_run
    lines = stdout.splitlines()
    header = lines.index("| part | status | figure | detail |")
    assert lines[header + 1] == "|---|---|---|---|"
    rows = lines[header + 2: header + 2 + len(PARTS)]
    assert [row.split(" | ")[0] for row in rows] == [f"| {name}" for name in PARTS]
    assert all(row.count(" | ") == 3 for row in rows), "a pipe in a cell breaks the table"
    assert "tokens/s" in rows[0] and "skipped" in rows[1] and "examples/s" in rows[2] and "pairs/s" in rows[5]
    assert f"{len(PARTS) - 1} of {len(PARTS)} parts ok" in stdout


def test_a_planted_model_runs_past_an_end_id_it_is_not_stopped_on(tiny_llama3):
    """The probes can fail: without the stop, greedy decoding goes on after the end id."""
    from transformers import AutoModelForCausalLM

    from isara.lm.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_llama3)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama3, dtype=torch.bfloat16).eval()
    plant_paths(model, tokenizer)
    for trigger, (word, end) in PLANT.items():
        ids = tokenizer("the river and the hills" + trigger, add_special_tokens=False, return_tensors="pt")["input_ids"]
        out = model.generate(ids, max_new_tokens=3, do_sample=False, eos_token_id=tokenizer.pad_token_id,
                             pad_token_id=tokenizer.pad_token_id)
        expected = tokenizer([word, end, AFTER], add_special_tokens=False)["input_ids"]
        assert out[0, ids.shape[1]:].tolist() == [i[0] for i in expected]


def test_honoured_counts_only_completions_that_stop_right_after_the_word():
    completions = [Completion(" north", "end", 2), Completion(" north moon", "length", 8),
                   Completion(" north", "length", 8), Completion(" west", "end", 2)]
    assert honoured(completions, " north") == {"probes": 4, "stopped": 1, "ran_past": 1}


@pytest.mark.parametrize("argv, says", [(["--out", "nowhere/x.json"], "--out must be a .json file"),
                                        (["--out", "x.txt"], "--out must be a .json file"),
                                        (["--folder", "no/such/dir"], "its parent folder does not exist")])
def test_bad_arguments_stop_with_one_line(tmp_path, argv, says):
    done = subprocess.run([sys.executable, SCRIPT, "--dry-run", *argv], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and done.stderr.strip().count("\n") == 0 and says in done.stderr
