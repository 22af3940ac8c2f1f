"""Greedy decoding throughput on one GPU: isara's HF path against its vLLM path, on a LLaMA-7B-shaped
model with random weights (nothing to download).

    python bench/vllm_check.py [--prompts 64] [--max-new-tokens 128] [--prompt-tokens 256] [--tp 1]

The folder it writes holds a LLaMA-7B config (hidden 4096, 32 layers, 32 heads, intermediate 11008,
bfloat16) with the SmolLM2 tokenizer (from the packaged GGUF, or `--tokenizer DIR`). The HF side
builds random weights on the GPU, saves them there, and generates through
`isara.lm.generation.generate`; the vLLM side loads the same folder through
`isara.lm.vllm_engine.generate_vllm`. Each side runs in its own process, so that each has the whole
GPU and vLLM starts in a process where CUDA is untouched.

Throughput counts useful tokens only (`Completion.tokens`: up to and including the first stop), over
the timed call after a short warm-up; model loading, compilation and CUDA-graph capture are not
timed. With random weights the two sides' greedy texts need not match (bfloat16 kernels differ and
near-ties in the logits flip); the count of equal texts is printed for information only.

Prints both rates, their ratio, and one JSON line (`{"bench": "vllm_check", ...}`).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("the people who would like to know how a small town can keep its river clean when "
         "every spring brings rain from hills above farms where children learn about birds trees "
         "stones and water that moves slowly past old mills bridges roads and fields").split()
SIDE_TIMEOUT_S = 420


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--tp", type=int, default=1, help="vLLM tensor parallel size")
    parser.add_argument("--batch-size", type=int, default=0, help="HF sequences per call (0: all prompts)")
    parser.add_argument("--tokenizer", default=None, help="a tokenizer folder, if the packaged GGUF is absent")
    parser.add_argument("--folder", default=None, help="where to write the model (default: a temp folder)")
    parser.add_argument("--side", choices=("hf", "vllm"), default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_smol_tokenizer(folder: str | None):
    if folder:
        from isara.lm.models import load_tokenizer

        return load_tokenizer(folder)
    from isara.lm.models import open_tokenizer

    try:
        return open_tokenizer("smollm2-135m-instruct")
    except Exception as err:  # the packaged GGUF is not installed
        sys.exit(f"cannot read the SmolLM2 tokenizer ({type(err).__name__}: {err}); pass --tokenizer DIR")


def write_folder(folder: Path, tokenizer_dir: str | None) -> None:
    """A LLaMA-7B-shaped config and the SmolLM2 tokenizer, no weights."""
    from transformers import GenerationConfig, LlamaConfig

    tokenizer = load_smol_tokenizer(tokenizer_dir)
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=4096, intermediate_size=11008,
                         num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                         max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False,
                         dtype="bfloat16", **ids)
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    GenerationConfig(**ids).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def make_prompts(tokenizer, n: int, length: int) -> list[str]:
    """`n` different plain-text prompts of about `length` tokens (no shared prefix to cache)."""
    prompts = []
    for i in range(n):
        rng = random.Random(i)
        text = " ".join(rng.choice(WORDS) for _ in range(2 * length))
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][: length - 1]
        prompts.append(tokenizer.decode(ids))
    return prompts


def run_side(args, device: str = "cuda", prepare=None) -> tuple[dict, Callable]:
    """Generate in this process on one side: the result as a dict, and the side's
    `generate(prompts, decoding, ids, desc)` for more prompts on the same weights. The hf side builds
    random weights on `device` and hands them to `prepare(model, tokenizer)` before saving them."""
    import torch

    from isara.config.generation import Model
    from isara.lm.batching import Batching
    from isara.lm.generation import Decoding
    from isara.lm.models import load_tokenizer
    from isara.lm.prompts import PromptFormat

    folder = args.folder
    tokenizer = load_tokenizer(folder)
    fmt = PromptFormat()  # plain text
    prompts = make_prompts(tokenizer, args.prompts, args.prompt_tokens)
    ids = [f"p{i}" for i in range(len(prompts))]
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    warm = Decoding(max_new_tokens=8)
    hf_on_gpu = args.side == "hf" and device.startswith("cuda")
    synchronize = torch.cuda.synchronize if hf_on_gpu else (lambda: None)  # vLLM returns finished work
    if args.side == "hf":
        from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

        from isara.lm.generation import generate

        started = time.perf_counter()
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder), dtype=torch.bfloat16)
        model.generation_config = GenerationConfig.from_pretrained(folder)
        model.eval()
        if prepare is not None:
            prepare(model, tokenizer)
        model.save_pretrained(folder)  # the vLLM side loads these same weights
        setup_s = time.perf_counter() - started
        batching = Batching(batch_size=args.batch_size or len(prompts), max_batch_tokens=10**9)

        def run(prompts, decoding, ids, desc):
            return generate(model, tokenizer, fmt, prompts, decoding, batching, ids, desc=desc)

        run(prompts[:2], warm, ids[:2], "warm-up")
    else:
        from isara.lm.vllm_engine import generate_vllm

        cfg = Model(device="cuda", dtype="bfloat16")

        def run(prompts, decoding, ids, desc):
            return generate_vllm(folder, cfg, tokenizer, fmt, prompts, decoding, ids, args.tp, desc)

        started = time.perf_counter()
        run(prompts[:2], warm, ids[:2], "warm-up")
        setup_s = time.perf_counter() - started
    synchronize()
    started = time.perf_counter()
    out = run(prompts, decoding, ids, args.side)
    synchronize()
    seconds = time.perf_counter() - started
    lengths = [len(tokenizer(p, add_special_tokens=fmt.add_special_tokens)["input_ids"]) for p in prompts]
    useful = sum(c.tokens for c in out)
    return {"side": args.side, "seconds": seconds, "setup_s": setup_s, "useful_tokens": useful,
            "tokens_per_s": useful / seconds, "finished": sum(c.finished for c in out),
            "prompt_tokens_mean": sum(lengths) / len(lengths), "texts": [c.text for c in out]}, run


def spawn_side(side: str, args, folder: Path) -> dict:
    """Run one side in a fresh process; its result."""
    result = folder / f"result-{side}.json"
    command = [sys.executable, __file__, "--side", side, "--folder", str(folder), "--prompts", str(args.prompts),
               "--max-new-tokens", str(args.max_new_tokens), "--prompt-tokens", str(args.prompt_tokens),
               "--tp", str(args.tp), "--batch-size", str(args.batch_size)]
    subprocess.run(command, check=True, timeout=SIDE_TIMEOUT_S)
    return json.loads(result.read_text())


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.side:
        result, _ = run_side(args)
        Path(args.folder, f"result-{args.side}.json").write_text(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="isara-vllm-check-") as scratch:
        folder = Path(args.folder or scratch)
        write_folder(folder, args.tokenizer)
        hf = spawn_side("hf", args, folder)
        vllm = spawn_side("vllm", args, folder)
    same = sum(a == b for a, b in zip(hf["texts"], vllm["texts"]))
    ratio = vllm["tokens_per_s"] / hf["tokens_per_s"]
    print(f"\n{args.prompts} prompts of ~{hf['prompt_tokens_mean']:.0f} tokens, greedy, "
          f"max_new_tokens {args.max_new_tokens}, LLaMA-7B shape, random weights, bf16")
    print(f"hf   : {hf['tokens_per_s']:8.1f} useful tokens/s ({hf['useful_tokens']} tokens in {hf['seconds']:.2f} s)")
    print(f"vllm : {vllm['tokens_per_s']:8.1f} useful tokens/s ({vllm['useful_tokens']} tokens in "
          f"{vllm['seconds']:.2f} s, tp {args.tp})")
    print(f"ratio: {ratio:.2f}x")
    print(f"equal texts: {same}/{args.prompts} (random weights: the sides need not agree)")
    print(json.dumps({"bench": "vllm_check", "prompts": args.prompts, "prompt_tokens": hf["prompt_tokens_mean"],
                      "max_new_tokens": args.max_new_tokens, "tp": args.tp,
                      "hf_tokens_per_s": round(hf["tokens_per_s"], 1),
                      "vllm_tokens_per_s": round(vllm["tokens_per_s"], 1), "ratio": round(ratio, 2),
                      "hf_useful_tokens": hf["useful_tokens"], "vllm_useful_tokens": vllm["useful_tokens"],
                      "hf_setup_s": round(hf["setup_s"], 1), "vllm_setup_s": round(vllm["setup_s"], 1),
                      "equal_texts": same}))


if __name__ == "__main__":
    main()
