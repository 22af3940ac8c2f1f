"""Generation speed, side by side in one run, on the default run's own prompts.

    python bench/generation.py                 # after `make repro`: models/ and work/ exist
    python bench/generation.py --n 32 --out bench/generation.json
    python bench/generation.py --bf16-check    # fp32 vs bf16 answers: refusal rate, answer length

Paths, each on the same prompts and decoding:
- naive: one prompt at a time, plain Hugging Face `generate`, float32 (the floor);
- fixed-8: the previous generate path: fixed batches of 8 prompts in their given order,
  left-padded, float32, stopping on the tokenizer's EOS only, sampling by `generate`'s own warpers;
- bucketed-fp32: isara's engine (length-bucketed batches sized by params.yaml, every end id) in float32;
- isara: the engine as the default run uses it (model.dtype auto: bfloat16 where the CPU has it).

Workloads (the default run's prompts and params.yaml's decodings): questions (round 1's question
prompts, k examples each, sampled), answers (round 1's answer prompts, beam search), greedy
(the same answer prompts, greedy, evaluate.max_new_tokens: the path the README's figures compare)
and evaluation (the demo harm prompts as the fine-tuned models see them, greedy).

Useful tokens are new tokens up to and including the first stop; tokens/s is their sum over the
wall time of the whole workload. Ratios are against fixed-8. Run it on an idle machine: another
torch process on the same cores slows both many times over.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isara.config import load_params  # noqa: E402
from isara.lm.batching import Batching  # noqa: E402
from isara.lm.engine import Engine, batching_of  # noqa: E402
from isara.lm.generation import Decoding  # noqa: E402
from isara.lm.models import load_configured  # noqa: E402
from isara.lm.prompts import answer_prompt, question_prompt, sft_prompt  # noqa: E402
from isara.loop.generate import answer_decoding, question_decoding  # noqa: E402
from isara.records import read_jsonl  # noqa: E402


def workloads(root: Path, p, fmt, n: int) -> dict[str, tuple[list[str], Decoding, Batching]]:
    """name -> (prompts, decoding, the engine's batching) from the default run's files."""
    pool = {row["id"]: row for row in read_jsonl(root / "work/iter0/pool.jsonl")}
    pairs = lambda ids: [(pool[i]["question"], pool[i]["answer"]) for i in ids]  # noqa: E731
    contexts = read_jsonl(root / "work/iter1/contexts.jsonl")[:n]
    answered = [row for row in read_jsonl(root / "work/iter1/candidates.jsonl") if row["question"]][:n]
    demo = read_jsonl(root / p.data.eval_file)[:n]
    gen, ev = batching_of(p.generation), batching_of(p.evaluate)
    answers = [answer_prompt(fmt, pairs(row["answer_context_ids"]), row["question"]) for row in answered]
    return {
        "questions": ([question_prompt(fmt, pairs(c["context_ids"])) for c in contexts],
                      question_decoding(p, fmt, 1), gen),
        "answers": (answers, answer_decoding(p, fmt), gen),
        "greedy": (answers, Decoding(p.evaluate.max_new_tokens), ev),
        "evaluation": ([sft_prompt(fmt, row["prompt"]) for row in demo], Decoding(p.evaluate.max_new_tokens), ev),
    }


@torch.inference_mode()
def fixed_batches(model, tokenizer, fmt, prompts, decoding: Decoding, batch_size: int) -> list[list[int]]:
    """The previous path: batches in the given order, left-padded, one EOS id; new ids per prompt."""
    tokenizer.padding_side = "left"
    torch.manual_seed(decoding.seed)
    extra = {"tokenizer": tokenizer} if decoding.stop_strings else {}
    out = []
    for start in range(0, len(prompts), batch_size):
        enc = tokenizer(prompts[start:start + batch_size], return_tensors="pt", padding=True,
                        add_special_tokens=fmt.add_special_tokens)
        new = model.generate(**enc, **decoding.kwargs(draw=False), **extra, pad_token_id=tokenizer.pad_token_id,
                             eos_token_id=tokenizer.eos_token_id)[:, enc["input_ids"].shape[1]:]
        out.extend(new.tolist())
    return out


def useful(rows: list[list[int]], eos: int) -> int:
    return sum(row.index(eos) + 1 if eos in row else len(row) for row in rows)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def speed(root: Path, p, model_dir: str, n: int, paths: list[str]) -> dict:
    fp32 = replace(p.model, dtype="float32", device="cpu")
    model, tokenizer, fmt = load_configured(root / model_dir, fp32)
    engines = {"bucketed-fp32": fp32, "isara": p.model}
    results: dict = {"model": model_dir, "dtype": {}, "workloads": {}}
    for name, (prompts, decoding, batching) in workloads(root, p, fmt, n).items():
        row = {"prompts": len(prompts), "mean_prompt_tokens": round(sum(
            len(tokenizer(x, add_special_tokens=fmt.add_special_tokens)["input_ids"]) for x in prompts) / len(prompts), 1)}
        texts = {}
        for path in paths:
            if path in ("naive", "fixed-8"):
                size = 1 if path == "naive" else 8
                rows, seconds = timed(lambda: fixed_batches(model, tokenizer, fmt, prompts, decoding, size))
                tokens = useful(rows, tokenizer.eos_token_id)
                texts[path] = [tokenizer.decode(r[: r.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in r
                                                else r, skip_special_tokens=True) for r in rows]
            else:
                engine = Engine(root / model_dir, engines[path], batching)
                engine.model  # loading is not generation
                results["dtype"][path] = str(engine.model.dtype)
                done, seconds = timed(lambda: engine.generate(prompts, decoding, desc=f"{name} [{path}]"))
                tokens = sum(c.tokens for c in done)
                texts[path] = [c.text for c in done]
            row[path] = {"useful_tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}
            print(f"{name:10s} {path:14s} {tokens:6d} tokens {seconds:7.1f} s {tokens / seconds:7.1f} tok/s", flush=True)
        base = row.get("fixed-8", {}).get("tokens_per_s")
        for path in paths:
            if base:
                row[path]["ratio_vs_fixed_8"] = round(row[path]["tokens_per_s"] / base, 2)
        if not decoding.do_sample and "fixed-8" in texts:
            row["same_text_as_fixed_8"] = {path: round(sum(a.strip() == b.strip() for a, b in zip(texts[path], texts["fixed-8"]))
                                                       / len(prompts), 3) for path in texts if path != "fixed-8"}
        results["workloads"][name] = row
    return results


def speed_table(results: dict) -> str:
    """The speed results as a markdown table: useful tokens/s and the ratio to fixed-8, per workload."""
    paths = [k for k in next(iter(results["workloads"].values())) if isinstance(k, str) and k not in
             ("prompts", "mean_prompt_tokens", "same_text_as_fixed_8")]
    lines = ["| workload | prompts | mean prompt tokens | " + " | ".join(paths) + " |",
             "|---|---|---|" + "---|" * len(paths)]
    for name, row in results["workloads"].items():
        cells = [f"{row[path]['tokens_per_s']} ({row[path].get('ratio_vs_fixed_8', '-')}x)" for path in paths]
        lines.append(f"| {name} | {row['prompts']} | {row['mean_prompt_tokens']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bf16_table(results: dict) -> str:
    lines = ["| model | refusal rate fp32 / bf16 (difference, family-wise 95% interval) | mean answer words fp32 / bf16 "
             "(difference, interval) | identical answers |", "|---|---|---|---|"]
    for model, row in results["models"].items():
        cells = [f"{row[m]['float32']} / {row[m]['bfloat16']} ({row[m]['difference']:+}, ±{row[m]['ci95_familywise']})"
                 for m in ("refusal_rate", "mean_answer_words")]
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {row['identical_answers']} |")
    return "\n".join(lines)


def bf16_check(root: Path, p, models: list[str], n: int) -> dict:
    """Greedy demo-prompt answers in float32 and bfloat16: refusal rate and mean answer words, each
    with the 95% interval of the paired difference, widened (Bonferroni) for the number of
    comparisons so that the family of them holds 95%. bf16 passes when every interval holds 0."""
    from statistics import NormalDist

    from isara.judges.refusal import is_refusal

    demo = read_jsonl(root / p.data.eval_file)[: n or None]
    metrics = (("refusal_rate", lambda c: float(is_refusal(c.text))), ("mean_answer_words", lambda c: len(c.text.split())))
    z_one, z_family = 1.96, NormalDist().inv_cdf(1 - 0.05 / (2 * len(metrics) * len(models)))
    out = {"prompts": len(demo), "comparisons": len(metrics) * len(models), "z_familywise": round(z_family, 3),
           "models": {}}
    for model_dir in models:
        per = {}
        for dtype in ("float32", "bfloat16"):
            engine = Engine(root / model_dir, replace(p.model, dtype=dtype, device="cpu"), batching_of(p.evaluate))
            per[dtype] = engine.generate([sft_prompt(engine.fmt, r["prompt"]) for r in demo],
                                         Decoding(p.evaluate.max_new_tokens), desc=f"{model_dir} {dtype}")
        row = {}
        for metric, value in metrics:
            a = torch.tensor([value(c) for c in per["float32"]], dtype=torch.float64)
            b = torch.tensor([value(c) for c in per["bfloat16"]], dtype=torch.float64)
            diff = b - a
            se = float(diff.std(unbiased=True)) / len(diff) ** 0.5 if len(diff) > 1 else 0.0
            mean = float(diff.mean())
            row[metric] = {"float32": round(float(a.mean()), 4), "bfloat16": round(float(b.mean()), 4),
                           "difference": round(mean, 4), "ci95": round(z_one * se, 4),
                           "ci95_familywise": round(z_family * se, 4), "within_noise": abs(mean) <= z_family * se}
        row["identical_answers"] = round(sum(x.text == y.text for x, y in zip(per["float32"], per["bfloat16"]))
                                         / len(demo), 3)
        out["models"][model_dir] = row
        print(model_dir, json.dumps(row), flush=True)
    out["passed"] = all(r[m]["within_noise"] for r in out["models"].values() for m, _ in metrics)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(ROOT), help="a project folder after `make repro`")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"), help="the params whose decodings and batching run")
    parser.add_argument("--model", default="models/iter0", help="the model the workloads run on")
    parser.add_argument("--n", type=int, default=24, help="prompts per workload")
    parser.add_argument("--paths", default="naive,fixed-8,bucketed-fp32,isara")
    parser.add_argument("--bf16-check", action="store_true", help="compare fp32 and bf16 answers instead")
    parser.add_argument("--models", default="models/iter0,models/sft_seed,models/iter2", help="for --bf16-check")
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args()
    root, p = Path(args.root), load_params(args.params)
    if args.bf16_check:
        result = bf16_check(root, p, args.models.split(","), args.n if args.n != 24 else 0)
    else:
        result = speed(root, p, args.model, args.n, args.paths.split(","))
    print(json.dumps(result, indent=2))
    print(bf16_table(result) if args.bf16_check else speed_table(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
