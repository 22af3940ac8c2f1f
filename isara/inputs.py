"""What the stages read that DVC cannot hash itself, fingerprinted so that DVC can see it change.

A base model given as a local folder or a hub id, and the benchmark and prompt-set files under
benchmarks.source and evaluate.prompt_sets, are no stage dependencies DVC could hash: their paths
depend on params and may lie outside the project. Stage `check` writes one fingerprint file per
reader (base, seed, each enabled suite, the judges) and each reader depends on its own, so a new
checkpoint in the base folder re-runs base and what follows, and an edited TruthfulQA file re-runs
the truthfulqa evaluations and nothing else. A hub dataset id is recorded by name only.
"""

from __future__ import annotations

from pathlib import Path

from isara.config import Params
from isara.datasets import FILES, source_file
from isara.errors import IsaraError
from isara.fingerprint import Digests, model_fingerprint


def _benchmark(p: Params, key: str, **fill) -> tuple[str, str]:
    return p.benchmarks.source, FILES[key].format(**fill)


def reads(p: Params) -> dict[str, list[tuple[str, str]]]:
    """reader -> the (source, file in a source folder) pairs it reads; a plain file is (path, "")."""
    source = p.data.seed_source
    split = p.benchmarks.beavertails_split
    seed = {"file": [(p.data.seed_file, "")],
            "beavertails": [_benchmark(p, "beavertails_pairs", split=split), _benchmark(p, "beavertails_prompts")],
            "truthfulqa": [_benchmark(p, "truthfulqa")],
            "self_instruct": [_benchmark(p, "self_instruct")]}[source]
    harm = [(p.data.eval_file, "") if name == "demo" else _benchmark(p, "beavertails_prompts")
            if name == "beavertails" else (p.evaluate.prompt_sets[name], "") for name in p.evaluate.harm_sets]
    harm += [(p.data.safe_file, "")] if p.data.safe_file else []
    suites = {"harm": harm, "xstest": [_benchmark(p, "xstest")], "truthfulqa": [_benchmark(p, "truthfulqa")],
              "alpaca_eval": [_benchmark(p, "alpaca_eval", reference=p.benchmarks.alpaca_reference)],
              "reward": [(p.data.safe_file, "")]}
    judges = []
    if set(p.judges.check) - {"pairwise"}:
        judges.append(_benchmark(p, "beavertails_pairs", split=split))
    if "pairwise" in p.judges.check:
        judges.append(_benchmark(p, "hh_rlhf"))
    dev = [(p.data.dev_file, "")] if p.data.dev_file else []
    return {"seed": seed, **{suite: suites[suite] for suite in p.evaluate.suites}, "judges": judges, "dev": dev}


def fingerprints(p: Params, digests: Digests) -> dict[str, dict]:
    """reader -> {file or hub id: digest}, plus "base": the base model's fingerprint."""
    out = {"base": {p.model.name: model_fingerprint(p.model.name, digests)}}
    for reader, items in reads(p).items():
        out[reader] = {}
        for source, folder_file in items:
            path = source_file(source, folder_file) if folder_file else Path(source).expanduser()
            if path is None:
                out[reader][f"hub:{source}"] = None
            elif not path.is_file():
                raise IsaraError(f"{path}: file not found (read by {reader}; see benchmarks.source in params.yaml)")
            else:
                out[reader][str(path)] = digests.file(path)
    return out
