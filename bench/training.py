"""Fine-tuning throughput against the hardware's limit, side by side in one run, on the default run's data.

    python bench/training.py                       # after `make repro`: models/iter0 and work/iter1 exist
    python bench/training.py --steps 6 --out bench/training.json
    python bench/training.py --bf16-check --against REV   # two default runs' models: same results?

Throughput: isara's own SFT (`isara.train.sft.finetune`, the finetune stage's code) on round 1's
weighted rows from models/iter0, for each of float32 and bfloat16 autocast (float32 master
weights, as on a GPU), full and LoRA, `--steps` optimizer steps of finetune.batch_size rows each
after one untimed warm-up step. It prints tokens/s (real tokens; padded tokens beside them) and
the achieved share of the dtype's matmul peak, measured in the same run on square matmuls:
a training token costs about 6 x parameters FLOPs in full fine-tuning (forward, input and weight
gradients) and 4 x parameters with LoRA (the frozen weights get no gradient). Padding: the share
of computed tokens that are padding when batches are drawn at random (as the Trainer does) and
when rows of similar length share a batch (Trainer's group_by_length).

--bf16-check compares the workspace's default run with the run committed at REV (one trained in
float32, the other under bf16 autocast): for every fine-tuned model, its harmful rate and
over-refusal on the demo prompts (paired differences with bootstrap intervals at the family-wise
level over all comparisons, Bonferroni) and its mean training loss (same within LOSS_TOLERANCE,
relative). The per-prompt answers come from DVC's cache through each revision's dvc.lock.

Run it on an idle machine: another torch process on the same cores slows both many times over.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isara.config import load_params  # noqa: E402
from isara.records import read_jsonl  # noqa: E402

TRAINED = ("sft_seed", "oneshot", "iter1", "iter2")  # the default run's fine-tuned models
LOSS_TOLERANCE = 0.03  # relative difference of the mean training loss that still counts as the same
ALPHA = 0.05


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 8) -> float:
    """FLOP/s of `size` x `size` matmuls in `dtype` on this machine's CPU (best of three rounds)."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    torch.mm(a, b)  # warm-up: kernels chosen, memory touched
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = max(best, 2 * size ** 3 * repeats / (time.perf_counter() - start))
    return best


def padding_share(lengths: list[int], batch: int, grouped: bool, seed: int) -> float:
    """The share of computed tokens that are padding for batches of `batch` rows, drawn at random or
    (grouped) sorted by length within random mega-batches of 50 batches, as Trainer's group_by_length."""
    order = np.random.default_rng(seed).permutation(len(lengths))
    if grouped:
        chunk = batch * 50
        order = np.concatenate([sorted(order[i:i + chunk], key=lambda j: -lengths[j])
                                for i in range(0, len(order), chunk)])
    real = padded = 0
    for i in range(0, len(order), batch):
        rows = [lengths[j] for j in order[i:i + batch]]
        real, padded = real + sum(rows), padded + max(rows) * len(rows)
    return 1 - real / padded


def throughput(p, rows: list[dict], model_dir: str, method: str, dtype: torch.dtype, steps: int) -> dict:
    """Tokens/s of `steps` SFT steps (after one warm-up step) in `dtype` autocast, `method` full or lora."""
    from isara.lm.models import load_configured
    from isara.train.sft import encode_example, finetune, train_precision

    cfg = replace(p.finetune, method=method, epochs=1, save_steps=0)
    device = torch.device("cpu")
    load_dtype, bf16, fp16 = train_precision(method, dtype, device)
    model, tokenizer, fmt = load_configured(model_dir, p.model, device=device, dtype=load_dtype)
    params = sum(t.numel() for t in model.parameters())
    batch = cfg.batch_size
    warm, timed = rows[:batch], rows[batch:batch * (steps + 1)]
    with tempfile.TemporaryDirectory() as scratch:
        finetune(model, tokenizer, fmt, warm, cfg, p.seed, Path(scratch) / "warm", "warm", (bf16, fp16))
        start = time.perf_counter()
        finetune(model, tokenizer, fmt, timed, cfg, p.seed, Path(scratch) / "timed", "timed", (bf16, fp16))
        seconds = time.perf_counter() - start
    lengths = [len(encode_example(fmt, tokenizer, r["question"], r["answer"], cfg.max_length)["input_ids"])
               for r in timed]
    padded = sum(max(lengths[i:i + batch]) * len(lengths[i:i + batch]) for i in range(0, len(lengths), batch))
    flops = (6 if method == "full" else 4) * params * padded
    return {"method": method, "dtype": str(dtype).removeprefix("torch."), "steps": steps, "seconds": seconds,
            "tokens_per_s": sum(lengths) / seconds, "padded_tokens_per_s": padded / seconds,
            "flops_per_s": flops / seconds, "params": params}


def run_throughput(args, p) -> dict:
    rows = read_jsonl(ROOT / args.train)
    need = p.finetune.batch_size * (args.steps + 1)
    if len(rows) < need:
        raise SystemExit(f"{args.train} has {len(rows)} rows; --steps {args.steps} needs {need}")
    torch.manual_seed(p.seed)
    peaks = {"float32": matmul_peak(torch.float32), "bfloat16": matmul_peak(torch.bfloat16)}
    results = []
    for method in ("full", "lora"):
        for dtype in (torch.float32, torch.bfloat16):
            r = throughput(p, rows, str(ROOT / args.model), method, dtype, args.steps)
            r["peak_share"] = r["flops_per_s"] / peaks[r["dtype"]]
            results.append(r)
    from isara.lm.models import load_configured
    from isara.train.sft import encode_example

    _, tokenizer, fmt = load_configured(str(ROOT / args.model), p.model, device=torch.device("cpu"))
    lengths = [len(encode_example(fmt, tokenizer, r["question"], r["answer"], p.finetune.max_length)["input_ids"])
               for r in rows]
    padding = {kind: padding_share(lengths, p.finetune.batch_size, kind == "grouped", p.seed)
               for kind in ("random", "grouped")}
    return {"bench": "training", "threads": torch.get_num_threads(), "matmul_peak_flops": peaks,
            "padding_share": padding, "results": results}


def print_throughput(report: dict) -> None:
    peaks = report["matmul_peak_flops"]
    print(f"matmul peak: float32 {peaks['float32'] / 1e9:.0f} GFLOP/s, bfloat16 {peaks['bfloat16'] / 1e9:.0f} GFLOP/s "
          f"({report['threads']} threads)")
    print("| method | autocast | tokens/s | padded tokens/s | GFLOP/s | share of peak | vs float32 |")
    print("|---|---|---|---|---|---|---|")
    base = {}
    for r in report["results"]:
        base.setdefault(r["method"], r["tokens_per_s"])
        print(f"| {r['method']} | {r['dtype']} | {r['tokens_per_s']:.0f} | {r['padded_tokens_per_s']:.0f} | "
              f"{r['flops_per_s'] / 1e9:.0f} | {r['peak_share']:.2f} | {r['tokens_per_s'] / base[r['method']]:.2f}x |")
    pad = report["padding_share"]
    print(f"padding: {pad['random']:.1%} of computed tokens with random batches, {pad['grouped']:.1%} grouped by length")


# --bf16-check ---------------------------------------------------------------------------------------

def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def _cached_rows(rev: str, path: str) -> list[dict]:
    """The JSONL output `path` of the default run at git revision `rev` ("" = the workspace)."""
    if not rev:
        return read_jsonl(ROOT / path)
    import yaml

    lock = yaml.safe_load(_git("show", f"{rev}:dvc.lock"))
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                md5 = out["md5"]
                return read_jsonl(ROOT / ".dvc/cache/files/md5" / md5[:2] / md5[2:])
    raise SystemExit(f"{path} is not an output in {rev}'s dvc.lock")


def _train_loss(rev: str, method: str) -> float:
    path = f"metrics/methods/{method}/train.json"
    text = (ROOT / path).read_text() if not rev else _git("show", f"{rev}:{path}")
    return float(json.loads(text)["train_loss"])


def _flags(rows: list[dict]) -> dict[str, dict[str, bool]]:
    """prompt -> outcome on both axes, judged as the report's headline judges them."""
    from isara.report.headline import choose_set_and_judge, outcomes

    own = outcomes(rows, *choose_set_and_judge({"model": rows}))
    return {"harmful": own.harmful, "over_refusal": own.refused_safe}


def paired_interval(a: list[bool], b: list[bool], level: float, seed: int, resamples: int = 10_000) -> dict:
    """mean(a) - mean(b) over paired items, with a bootstrap percentile interval at `level`."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    index = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[index].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"difference": float(diff.mean()), "low": float(low), "high": float(high), "n": len(diff)}


def bf16_check(against: str, seed: int) -> dict:
    comparisons = len(TRAINED) * 2
    level = 1 - ALPHA / comparisons
    models = {}
    for method in TRAINED:
        path = f"reports/{method}/harm.jsonl"
        now, then = _flags(_cached_rows("", path)), _flags(_cached_rows(against, path))
        entry = {}
        for axis in ("harmful", "over_refusal"):
            shared = sorted(set(now[axis]) & set(then[axis]))
            diff = paired_interval([now[axis][q] for q in shared], [then[axis][q] for q in shared], level, seed)
            entry[axis] = {"workspace": float(np.mean([now[axis][q] for q in shared])),
                           "against": float(np.mean([then[axis][q] for q in shared])),
                           **diff, "same": diff["low"] <= 0 <= diff["high"]}
        loss_now, loss_then = _train_loss("", method), _train_loss(against, method)
        relative = abs(loss_now - loss_then) / loss_then
        entry["train_loss"] = {"workspace": loss_now, "against": loss_then, "relative_difference": relative,
                               "same": relative <= LOSS_TOLERANCE}
        models[method] = entry
    same = all(m[k]["same"] for m in models.values() for k in ("harmful", "over_refusal", "train_loss"))
    return {"bench": "bf16_check", "against": against, "interval_level": level, "loss_tolerance": LOSS_TOLERANCE,
            "models": models, "same": same}


def print_check(report: dict) -> None:
    print(f"workspace vs {report['against']}: paired differences, {report['interval_level']:.4f} intervals "
          f"(family-wise 95%), loss tolerance {report['loss_tolerance']:.0%} relative")
    print("| model | harmful (ws / rev) | difference | over-refusal (ws / rev) | difference | train loss (ws / rev) |")
    print("|---|---|---|---|---|---|")
    for method, m in report["models"].items():
        cells = [f"{m[a]['workspace']:.3f} / {m[a]['against']:.3f} | {m[a]['difference']:+.3f} "
                 f"[{m[a]['low']:+.3f}, {m[a]['high']:+.3f}]" for a in ("harmful", "over_refusal")]
        loss = m["train_loss"]
        print(f"| {method} | {cells[0]} | {cells[1]} | {loss['workspace']:.4f} / {loss['against']:.4f} "
              f"({loss['relative_difference']:.1%}) |")
    print("same within the intervals and the tolerance" if report["same"] else "NOT the same: see the table")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/iter0", help="the model to fine-tune (a folder)")
    parser.add_argument("--train", default="work/iter1/train.jsonl", help="weighted rows from mix")
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps per configuration")
    parser.add_argument("--bf16-check", action="store_true", help="compare the workspace's run with --against's")
    parser.add_argument("--against", default="", help="git revision of the other default run (--bf16-check)")
    parser.add_argument("--out", default="", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    p = load_params(ROOT / "params.yaml")
    if args.bf16_check:
        if not args.against:
            parser.error("--bf16-check needs --against REV")
        report = bf16_check(args.against, p.seed)
        print_check(report)
    else:
        report = run_throughput(args, p)
        print_throughput(report)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
