"""The names params.yaml chooses from, the names of the runs the pipeline builds itself, and the
bounds its numbers must keep."""

import re

SEED_SOURCES = ("file", "beavertails", "truthfulqa", "self_instruct")
# The evaluation suites, in report order: name -> the items each evaluates by default
# (evaluate.eval_limit.<name>; 0 = all). Each is one object in isara/eval/<name>.py, listed in
# isara/eval/registry.py, and a column of dvc.yaml's evaluate matrix (tests/test_registry.py).
SUITES = {
    "harm": 140,  # BeaverTails-Evaluation prompts (and each extra prompt set), stratified by category
    "xstest": 100,  # XSTest prompts, stratified by safe/unsafe
    "truthfulqa": 100,  # TruthfulQA questions not in D0, stratified by category
    "alpaca_eval": 50,  # AlpacaEval instructions, stratified by source dataset
    "reward": 0,  # safe prompts (data.safe_file) whose answers the reward model scores, by category
    "dev": 0,  # the labelled dev prompts (data.dev_file), stratified by label: methods marked dev: true only
    "domain": 0,  # a domain's held-out prompts (data.domain_file): pairwise against base and sft_seed
}
HARM_JUDGES = ("refusal", "classifier", "beaver-dam")
JUDGE_STAGES = HARM_JUDGES + ("pairwise",)
FILTER_JUDGES = HARM_JUDGES + ("consistency", "pairwise")  # harm vetoes, then content gates (isara.loop.gate)
PROMPTINGS = ("zero_shot", "icl", "icl_knn")
BASE = "iter0"  # the base model (models/iter0) and D0 (work/iter0/pool.jsonl): round 0
ROUND = re.compile(r"iter([1-9][0-9]*|0)")  # an ISARA round's name, matched whole: iterN (iter0 = BASE)
SEED_ONLY = "sft_seed"  # the baseline fine-tuned on D0 alone
ONESHOT = "oneshot"  # the run that spends every ISARA round's budget in one round
HARM_SETS = ("demo", "beavertails")  # built-in harm prompt sets (data.eval_file, BeaverTails-Evaluation)
SEED_MAX = 4_294_966  # generation seeds seed * 1000 + round must stay below 2**32
BATCH_MAX = 4096  # items per batch
TOKENS_MAX = 32_768  # new tokens per generation
BATCH_TOKENS_MAX = 1 << 24  # padded tokens per generate() call
WORKERS_MAX = 1024  # processes or devices
BACKENDS = ("hf", "vllm")
LENGTH_MAX = 1_048_576  # tokens per training or judging example
OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adamw_8bit", "paged_adamw_8bit")
CONFIG_FILE = re.compile(r"^(?!.*(^|/)\.\.(/|$))[\w./-]+\.(ya?ml|json)$")  # a plain path, no parent hops


def round_number(name: str) -> int | None:
    """N of an ISARA round named iterN (0 for iter0, the base model); None for any other name."""
    match = ROUND.fullmatch(name)
    return int(match.group(1)) if match else None
