"""What each suite reads, loaded through the dataset loaders (and so checked): the runners use it,
and `isara check` loads it before a long run."""

from __future__ import annotations

from isara.config import Params
from isara import datasets
from isara.errors import IsaraError
from isara.labels import HARMFUL, SAFE

PROMPT_FIELDS = ("prompt", "question", "instruction")  # harm sets and XSTest; TruthfulQA; AlpacaEval


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


def suite_items(p: Params, suite: str) -> dict[str, list[dict]]:
    """Every item list `suite` reads, by name (before evaluate.eval_limit)."""
    source = p.benchmarks.source
    if suite == "harm":
        return {**harm_sets(p), **({"safe": datasets.prompt_set(p.data.safe_file, SAFE)} if p.data.safe_file else {})}
    if suite == "xstest":
        return {"xstest": datasets.xstest(source)}
    if suite == "truthfulqa":
        return {"truthfulqa": datasets.truthfulqa(source)}
    if suite == "reward":
        return {"reward": datasets.prompt_set(p.data.safe_file, SAFE)}
    return {"alpaca_eval": datasets.alpaca_eval(source, p.benchmarks.alpaca_reference)}


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
    dev = [("dev", row["prompt"]) for row in datasets.labelled_prompts(p.data.dev_file)] if p.data.dev_file else []
    return [(name, prompt_of(suite, row)) for suite in p.evaluate.suites
            for name, rows in suite_items(p, suite).items() for row in rows] + dev
