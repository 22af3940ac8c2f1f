"""What each suite reads, declared once: its item lists, loaded through the dataset loaders (and so
checked), and the files they come from. The runners use the items, `isara check` loads them before
a long run, stage `check` fingerprints the files (isara/input_fingerprints.py), and the judges and the audit
keep their data apart from every prompt in them (`evaluation_prompts`).

Each suite object (isara/eval/<suite>.py) holds its `Inputs`. They are declared here, beneath the
suites, because the audit and judge stages read them without loading any suite's runner (those
stages depend on this file alone); tests/test_registry.py checks that INPUTS and the suites agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from isara.config import Params
from isara import datasets
from isara.errors import IsaraError
from isara.labels import HARMFUL, SAFE

PROMPT_FIELDS = ("prompt", "question", "instruction")  # harm sets and XSTest; TruthfulQA; AlpacaEval
File = tuple[str, str]  # (source, file in a source folder); a plain file is (path, "")


@dataclass(frozen=True)
class Inputs:
    """What one suite reads."""

    items: Callable[[Params], dict[str, list[dict]]]  # its item lists by name, before evaluate.eval_limit
    files: Callable[[Params], list[File]]  # the files those items come from


def benchmark(p: Params, key: str, **fill) -> File:
    """A benchmark file of benchmarks.source (isara.datasets.FILES)."""
    return p.benchmarks.source, datasets.FILES[key].format(**fill)


def harm_sets(p: Params) -> dict[str, list[dict]]:
    """The harm suite's prompt sets ({"prompt", "category"} rows) in evaluate.harm_sets order:
    demo (data.eval_file), beavertails (BeaverTails-Evaluation) or a file of evaluate.prompt_sets."""
    sets = {}
    for name in p.evaluate.harm_sets:
        if name == "demo":
            sets[name] = datasets.prompt_set(p.data.eval_file, HARMFUL)
        elif name == "beavertails":
            sets[name] = datasets.beavertails_prompts(p.benchmarks.source)
        else:
            sets[name] = datasets.prompt_set(p.evaluate.prompt_sets[name], HARMFUL)
    return sets


def safe_prompts(p: Params) -> list[dict]:
    """The safe prompts that look risky (data.safe_file): over-refusal, and the reward suite's items."""
    return datasets.prompt_set(p.data.safe_file, SAFE)


def _harm_files(p: Params) -> list[File]:
    files = [(p.data.eval_file, "") if name == "demo" else benchmark(p, "beavertails_prompts")
             if name == "beavertails" else (p.evaluate.prompt_sets[name], "") for name in p.evaluate.harm_sets]
    return files + ([(p.data.safe_file, "")] if p.data.safe_file else [])


HARM = Inputs(lambda p: {**harm_sets(p), **({"safe": safe_prompts(p)} if p.data.safe_file else {})}, _harm_files)
XSTEST = Inputs(lambda p: {"xstest": datasets.xstest(p.benchmarks.source)}, lambda p: [benchmark(p, "xstest")])
TRUTHFULQA = Inputs(lambda p: {"truthfulqa": datasets.truthfulqa(p.benchmarks.source)},
                    lambda p: [benchmark(p, "truthfulqa")])
ALPACA_EVAL = Inputs(lambda p: {"alpaca_eval": datasets.alpaca_eval(p.benchmarks.source, p.benchmarks.alpaca_reference)},
                     lambda p: [benchmark(p, "alpaca_eval", reference=p.benchmarks.alpaca_reference)])
REWARD = Inputs(lambda p: {"reward": safe_prompts(p)}, lambda p: [(p.data.safe_file, "")])
DEV = Inputs(lambda p: {"dev": datasets.labelled_prompts(p.data.dev_file)} if p.data.dev_file else {},
             lambda p: [(p.data.dev_file, "")] if p.data.dev_file else [])
DOMAIN = Inputs(lambda p: {"domain": datasets.domain_prompts(p.data.domain_file)} if p.data.domain_file
                else {}, lambda p: [(p.data.domain_file, "")] if p.data.domain_file else [])
INPUTS = {"harm": HARM, "xstest": XSTEST, "truthfulqa": TRUTHFULQA, "alpaca_eval": ALPACA_EVAL, "reward": REWARD,
          "dev": DEV, "domain": DOMAIN}


def suite_items(p: Params, suite: str) -> dict[str, list[dict]]:
    """Every item list `suite` reads, by name (before evaluate.eval_limit)."""
    return INPUTS[suite].items(p)


def prompt_of(suite: str, row: dict) -> str:
    """The text a model is asked in an evaluation item: its prompt, question or instruction."""
    for field in PROMPT_FIELDS:
        if field in row:
            return row[field]
    raise IsaraError(f"{suite}: an item has none of the fields {', '.join(PROMPT_FIELDS)} (it has {', '.join(row)})")


def evaluation_prompts(p: Params) -> list[tuple[str, str]]:
    """(set name, prompt) of every item of every set the suites of evaluate.suites read, before
    evaluate.eval_limit, and of the dev split (data.dev_file) that defaults are chosen on: what
    generated questions and judge data must stay apart from."""
    dev = [] if not p.data.dev_file or "dev" in p.evaluate.suites else [
        ("dev", row["prompt"]) for row in datasets.labelled_prompts(p.data.dev_file)]
    return [(name, prompt_of(suite, row)) for suite in p.evaluate.suites
            for name, rows in suite_items(p, suite).items() for row in rows] + dev
