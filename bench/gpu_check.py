"""An acceptance check for one 80 GB GPU with no network, in under 8 minutes: isara's generation (HF
and vLLM), fine-tuning (full and LoRA) with its memory against isara's estimate, one process against
several, and a harm judge's rate, on a LLaMA-7B-shaped model with random weights.

    python bench/gpu_check.py [--out bench/gpu_check.json] [--folder DIR]
    python bench/gpu_check.py --dry-run --out /tmp/gpu_check.json   # the same code paths on the CPU

The model has a LLaMA-7B config (hidden 4096, 32 layers, 32 heads, intermediate 11008, bfloat16;
`--dry-run`: the 2-layer llama3 model of `isara.tiny`) and a Llama-3-style tokenizer whose turns end
on two ids, `<|end_of_text|>` and `<|eot_id|>`. Each part runs in a process of its own (the whole
GPU, its own peak memory):

- generation_hf, generation_vllm: the two sides of `bench/vllm_check.py` (useful tokens/s; equal
  greedy texts, for information); both load weights in which the HF side planted greedy paths that
  end on each end id (`bench/end_ids.py`): a side honours an end id when every probe stops on it.
- train_full: `isara.train.sft.finetune` with float32 master weights, bf16 autocast, 8-bit AdamW and
  gradient checkpointing; train_lora: LoRA on the bf16 base. Examples/s over the Trainer's run (its
  first step included), and the peak of `torch.cuda.max_memory_allocated` (loading included)
  against `isara.train.memory`'s estimate.
- train_processes: the LoRA run on every GPU (`accelerate launch`, DDP); skipped on one GPU.
- judge: `BeaverDamJudge` on the same backbone as a 14-label sequence classifier: pairs/s.

`--dry-run` runs on the CPU: bf16 autocast, `adamw_torch` (no bitsandbytes), vLLM skipped, two gloo
processes, memory estimated but not measured. Every figure, the device, the versions and each
part's status (ok, skipped with a reason, failed with a one-line error) go to `--out`; a Markdown
table for the README is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from importlib import metadata, util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.vllm_check import SIDE_TIMEOUT_S, WORDS, make_prompts, run_side, write_folder  # noqa: E402
from bench.vllm_check import parse_args as side_args  # noqa: E402
from bench.end_ids import end_id_probes, plant_paths  # noqa: E402

GIB = 1024 ** 3
PARTS = ("generation_hf", "generation_vllm", "train_full", "train_lora", "train_processes", "judge")


@dataclass(frozen=True)
class Sizes:
    prompts: int = 64  # generation: prompts per side, their tokens, new tokens, probes per end id
    prompt_tokens: int = 256
    max_new_tokens: int = 128
    probes: int = 4
    steps: int = 4  # training: optimizer steps, examples per step and process, tokens per example
    batch: int = 4
    max_length: int = 512
    pairs: int = 64  # judge: pairs, tokens of each side of a pair, pairs per forward
    pair_tokens: int = 128
    judge_batch: int = 16
    timeout_s: int = SIDE_TIMEOUT_S  # per part


DRY = Sizes(prompts=8, prompt_tokens=32, max_new_tokens=16, probes=2, steps=3, batch=2, max_length=64, pairs=16,
            pair_tokens=24, judge_batch=8, timeout_s=150)


class Skipped(Exception):
    """A part that cannot run here; its message says why."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "gpu_check.json"), help="the JSON file written")
    parser.add_argument("--dry-run", action="store_true", help="the tiny model on the CPU")
    parser.add_argument("--folder", default=None, help="where the model and the parts' results go (default: temp)")
    parser.add_argument("--part", choices=PARTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.out.endswith(".json") or not Path(args.out).resolve().parent.is_dir():
        sys.exit(f"gpu_check: --out must be a .json file in an existing folder, got {args.out!r}")
    if args.folder and not Path(args.folder).resolve().parent.is_dir():
        sys.exit(f"gpu_check: --folder {args.folder!r}: its parent folder does not exist")
    return args


def build_folder(folder: Path, dry_run: bool) -> None:
    """The tiny llama3 model (its tokenizer, its two end ids); for the GPU, the LLaMA-7B config instead."""
    from transformers import GenerationConfig

    from isara.tiny import build_tiny_model

    build_tiny_model("llama3", folder)
    if not dry_run:
        ends = GenerationConfig.from_pretrained(folder)
        write_folder(folder, str(folder))
        (folder / "model.safetensors").unlink()
        ends.save_pretrained(folder)


def generation_part(work: Path, sizes: Sizes, dry_run: bool, side: str) -> dict:
    from transformers import GenerationConfig

    from isara.lm.models import load_tokenizer
    from isara.lm.stops import stop_ids

    if side == "vllm" and util.find_spec("vllm") is None:
        raise Skipped('vllm is not importable: pip install "isara[vllm]" (needs a CUDA GPU)')
    if side == "vllm" and dry_run:
        raise Skipped("--dry-run: vLLM needs a CUDA GPU")
    folder = work / "model"
    args = side_args(["--side", side, "--folder", str(folder), "--prompts", str(sizes.prompts),
                      "--prompt-tokens", str(sizes.prompt_tokens), "--max-new-tokens", str(sizes.max_new_tokens)])
    result, run = run_side(args, "cpu" if dry_run else "cuda", plant_paths if side == "hf" else None)
    tokenizer = load_tokenizer(folder)
    ends = end_id_probes(run, tokenizer, stop_ids(GenerationConfig.from_pretrained(folder), tokenizer), sizes.probes)
    bad = [f"{end} in {r['probes'] - r['stopped']} of {r['probes']} probes" + ("" if r["listed"] else ", not a stop id")
           for end, r in ends.items() if r["stopped"] < r["probes"] or not r["listed"]]
    failed = {"status": "failed", "error": "end ids not honoured: " + "; ".join(bad)} if bad else {}
    return {**result, "end_ids": ends, **failed}


def training_rows(n: int, length: int) -> list[dict]:
    """Questions of about length/4 words; answers long enough to be cut to `length` tokens."""
    rng = random.Random(0)
    words = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))  # noqa: E731
    return [{"question": words(length // 4), "answer": words(length), "weight": 1.0} for _ in range(n)]


def memory_estimate(folder: Path, cfg, dtype) -> dict:
    """`isara.train.memory`'s GiB per device, with the settings as `check_training_memory` reads them."""
    from isara.lm.models import open_config
    from isara.train.memory import shape_of, training_need

    lora = cfg.method == "lora"
    shape = shape_of(open_config(folder), cfg.lora.r if lora else 0, cfg.lora.target_modules)
    need = training_need(shape, method=cfg.method, weight_bytes=dtype.itemsize if lora else 4,
                         autocast=dtype.itemsize == 2, batch=cfg.batch_size, seq=cfg.max_length,
                         checkpointing=cfg.gradient_checkpointing, optimizer=cfg.optimizer)
    return {"total": need.total / GIB, **{k: v / GIB for k, v in asdict(need).items()}}


def train_part(work: Path, sizes: Sizes, dry_run: bool, method: str) -> dict:
    import torch

    from isara.config.generation import Model
    from isara.config.training import Finetune
    from isara.errors import IsaraError
    from isara.lm.models import load_configured
    from isara.train.launch import train_device, world_size
    from isara.train.sft import check_optimizer, finetune, train_precision

    device, processes = train_device("cpu" if dry_run else "cuda"), world_size()
    optimizer = "adamw_torch" if dry_run else "adamw_8bit" if method == "full" else "adamw_torch_fused"
    cfg = Finetune(method=method, epochs=1, batch_size=sizes.batch, max_length=sizes.max_length, warmup_ratio=0.0,
                   learning_rate=1e-5, gradient_checkpointing=True, optimizer=optimizer, save_steps=0)
    try:
        check_optimizer(cfg)
    except IsaraError as err:
        raise Skipped(str(err)) from None
    load_dtype, bf16, fp16 = train_precision(method, torch.bfloat16, device)
    estimate = memory_estimate(work / "model", cfg, torch.bfloat16)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model, tokenizer, fmt = load_configured(work / "model", Model(device=device.type), device=device, dtype=load_dtype)
    rows = training_rows(sizes.steps * cfg.batch_size * processes, cfg.max_length)
    trained = finetune(model, tokenizer, fmt, rows, cfg, 0, work / f"scratch-{method}-{processes}", "gpu-check",
                       (bf16, fp16))
    result = {"method": method, "optimizer": optimizer, "processes": processes, "steps": trained.stats["steps"],
              "batch": cfg.batch_size, "max_length": cfg.max_length, "first_loss": trained.stats["first_logged_loss"],
              "examples_per_s": trained.trainer.state.log_history[-1]["train_samples_per_second"],
              "estimate_gib": estimate["total"], "estimate_parts_gib": estimate}
    if device.type != "cuda":
        return {**result, "measured_gib": None, "memory_reason": "no CUDA device: peak GPU memory is not measured"}
    measured = torch.cuda.max_memory_allocated(device) / GIB
    return {**result, "measured_gib": measured, "ratio": measured / estimate["total"]}


def judge_folder(lm: Path, out: Path) -> Path:
    """The causal LM's backbone as a beaver-dam-shaped judge: 14 multi-label outputs (BeaverTails'
    harm categories) on the same weight files, linked; the classification head is drawn at load."""
    from transformers import AutoConfig

    from isara.lm.models import load_tokenizer

    config = AutoConfig.from_pretrained(lm)
    config.architectures, config.problem_type = ["LlamaForSequenceClassification"], "multi_label_classification"
    config.id2label = {i: f"category_{i}" for i in range(14)}
    config.label2id = {name: i for i, name in config.id2label.items()}
    out.mkdir(exist_ok=True)
    config.save_pretrained(out)
    load_tokenizer(lm).save_pretrained(out)
    for weights in lm.glob("model*.safetensors*"):
        (out / weights.name).unlink(missing_ok=True)
        (out / weights.name).symlink_to(weights)
    return out


def judge_part(work: Path, sizes: Sizes, dry_run: bool) -> dict:
    """Pairs/s of the judge's own `harmful_probs` (its results come back to the CPU: no sync needed)."""
    from isara.judges.harm_judges import BeaverDamJudge

    folder = judge_folder(work / "model", work / "judge")
    judge = BeaverDamJudge(folder, "cpu" if dry_run else "cuda", batch_size=sizes.judge_batch)
    texts = make_prompts(judge.tokenizer, 2 * sizes.pairs, sizes.pair_tokens)
    pairs = list(zip(texts[: sizes.pairs], texts[sizes.pairs:]))
    judge.harmful_probs(pairs[: sizes.judge_batch])  # warm-up
    started = time.perf_counter()
    probs = judge.harmful_probs(pairs)
    seconds = time.perf_counter() - started
    return {"pairs": len(pairs), "seconds": seconds, "items_per_s": len(pairs) / seconds, "labels": len(judge.labels),
            "batch": sizes.judge_batch, "dtype": str(judge.model.dtype), "in_range": all(0 <= p <= 1 for p in probs)}


def run_part(args) -> None:
    """One part in this process; rank 0 writes its result, with its status, beside the model."""
    sizes, work = DRY if args.dry_run else Sizes(), Path(args.folder)
    try:
        if args.part.startswith("generation"):
            result = generation_part(work, sizes, args.dry_run, args.part.removeprefix("generation_"))
        elif args.part == "judge":
            result = judge_part(work, sizes, args.dry_run)
        else:
            result = train_part(work, sizes, args.dry_run, "full" if args.part == "train_full" else "lora")
        result = {"status": "ok", **result}  # unless the part says it failed
    except Skipped as reason:
        result = {"status": "skipped", "reason": str(reason)}
    except Exception as err:  # any failure is this part's, reported in one line
        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"}
    if int(os.environ.get("RANK", "0")) == 0:
        (work / f"{args.part}.json").write_text(json.dumps(result))


def spawn(part: str, work: Path, dry_run: bool, timeout_s: int, launcher: list[str] | None = None) -> dict:
    """Run one part in a fresh process (or in `launcher`'s processes); its result."""
    command = [*(launcher or [sys.executable, __file__]), "--part", part, "--folder", str(work)]
    result = work / f"{part}.json"
    result.unlink(missing_ok=True)  # a result left by an earlier run in the same --folder
    try:
        done = subprocess.run(command + (["--dry-run"] if dry_run else []), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"timed out after {timeout_s} s"}
    if not result.is_file():
        return {"status": "failed", "error": f"exited with code {done.returncode} before writing its result"}
    return json.loads(result.read_text())


def processes_part(work: Path, dry_run: bool, timeout_s: int, one: dict) -> dict:
    """The LoRA run on every GPU (two gloo processes in a dry run) through isara's launcher, against
    `one`, the same run in one process."""
    import torch

    from isara.config.training import Finetune
    from isara.devices import cpu_threads
    from isara.train.launch import launch_argv

    n = 2 if dry_run else torch.cuda.device_count()
    if n < 2:
        return {"status": "skipped", "reason": f"{n} CUDA device: 1 vs N processes needs two or more"}
    launcher = launch_argv(Finetune(num_processes=n), __file__, [], on_cpu=dry_run, cores=cpu_threads(1))
    result = spawn("train_processes", work, dry_run, timeout_s, launcher)
    if result["status"] == one["status"] == "ok":
        result["one_process_examples_per_s"] = one["examples_per_s"]
        result["speedup"] = result["examples_per_s"] / one["examples_per_s"]
    return result


def figures(name: str, part: dict) -> tuple[str, str]:
    """(a part's main figure, its detail) for the table."""
    if name.startswith("generation"):
        ends = ", ".join(f"{end} {r['stopped']}/{r['probes']}" for end, r in part["end_ids"].items())
        vs = f"; {part['ratio_to_hf']:.2f}x HF, equal texts {part['equal_texts']}" if "ratio_to_hf" in part else ""
        return f"{part['tokens_per_s']:.1f} tokens/s", f"end ids honoured: {ends}{vs}"
    if name == "judge":
        return f"{part['items_per_s']:.1f} pairs/s", f"{part['labels']} labels, batch {part['batch']}, {part['dtype']}"
    memory = f"memory estimate {part['estimate_gib']:.2f} GiB, " + (
        f"measured {part['measured_gib']:.2f} GiB, ratio {part['ratio']:.2f}" if part["measured_gib"] is not None
        else f"measured n/a ({part['memory_reason']})")
    speedup = f", {part['speedup']:.2f}x one process" if "speedup" in part else ""
    detail = f"{part['processes']} process(es){speedup}, {part['optimizer']}, {memory}"
    return f"{part['examples_per_s']:.2f} examples/s", detail


def table(report: dict) -> str:
    """The Markdown table of a report (pipes in cells escaped)."""
    found = ", ".join(f"{name} {version}" for name, version in report["versions"].items() if version)
    lines = [f"Device: {report['device']}; {found}", "", "| part | status | figure | detail |", "|---|---|---|---|"]
    for name, part in report["parts"].items():
        figure, detail = figures(name, part) if part["status"] == "ok" else ("", part.get("reason") or part["error"])
        detail = detail.replace("|", "\\|")
        lines.append(f"| {name} | {part['status']} | {figure} | {detail} |")
    return "\n".join(lines)


def versions() -> dict:
    names = ("torch", "transformers", "vllm", "bitsandbytes", "peft", "accelerate")
    return {name: metadata.version(name) if util.find_spec(name) else None for name in names}


def check(args, work: Path) -> dict:
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here; --dry-run runs the same code paths on the CPU")
    sizes, started = DRY if args.dry_run else Sizes(), time.perf_counter()
    build_folder(work / "model", args.dry_run)
    parts = {"generation_hf": spawn("generation_hf", work, args.dry_run, sizes.timeout_s)}
    weights = any((work / "model").glob("model*.safetensors*"))  # the HF side writes them
    for name in PARTS[1:]:
        if not weights:
            parts[name] = {"status": "skipped", "reason": "no weights: generation_hf, which writes them, failed"}
        elif name == "train_processes":
            parts[name] = processes_part(work, args.dry_run, sizes.timeout_s, parts["train_lora"])
        else:
            parts[name] = spawn(name, work, args.dry_run, sizes.timeout_s)
    hf, vllm = parts["generation_hf"], parts["generation_vllm"]
    texts = hf.pop("texts", None), vllm.pop("texts", None)
    if "tokens_per_s" in hf and "tokens_per_s" in vllm:
        vllm["equal_texts"] = sum(a == b for a, b in zip(*texts))
        vllm["ratio_to_hf"] = vllm["tokens_per_s"] / hf["tokens_per_s"]
    device = (f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}" if not args.dry_run
              else f"CPU, {os.cpu_count()} cores (dry run)")
    return {"bench": "gpu_check", "dry_run": args.dry_run, "device": device, "versions": versions(),
            "sizes": asdict(sizes), "seconds": time.perf_counter() - started, "parts": parts}


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.part:
        return run_part(args)
    if args.folder:
        Path(args.folder).mkdir(exist_ok=True)
        report = check(args, Path(args.folder).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="isara-gpu-check-") as scratch:
            report = check(args, Path(scratch))
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    ok = sum(part["status"] == "ok" for part in report["parts"].values())
    print(f"\n{table(report)}\n\n{ok} of {len(PARTS)} parts ok in {report['seconds']:.0f} s; figures in {args.out}")


if __name__ == "__main__":
    main()
