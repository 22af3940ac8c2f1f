"""What each suite reads, loaded through the dataset loaders (and so checked): the runners use it,
and `isara check` loads it before a long run."""

from __future__ import annotations

from isara.config import Params
from isara import datasets


def harm_sets(p: Params) -> dict[str, list[dict]]:
    """The harm suite's prompt sets ({"prompt", "category"} rows) in evaluate.harm_sets order:
    demo (data.eval_file), beavertails (BeaverTails-Evaluation) or a file of evaluate.prompt_sets."""
    sets = {}
    for name in p.evaluate.harm_sets:
        if name == "demo":
            sets[name] = datasets.prompt_set(p.data.eval_file)
        elif name == "beavertails":
            sets[name] = datasets.beavertails_prompts(p.benchmarks.source)
        else:
            sets[name] = datasets.prompt_set(p.evaluate.prompt_sets[name])
    return sets


def suite_items(p: Params, suite: str) -> dict[str, list[dict]]:
    """Every item list `suite` reads, by name (before evaluate.eval_limit)."""
    source = p.benchmarks.source
    if suite == "harm":
        return harm_sets(p)
    if suite == "xstest":
        return {"xstest": datasets.xstest(source)}
    if suite == "truthfulqa":
        return {"truthfulqa": datasets.truthfulqa(source)}
    return {"alpaca_eval": datasets.alpaca_eval(source, p.benchmarks.alpaca_reference)}
