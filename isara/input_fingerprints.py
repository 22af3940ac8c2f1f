"""What the stages read that DVC cannot hash itself, fingerprinted so that DVC can see it change.

A base model given as a local folder or a hub id, and the benchmark and prompt-set files under
benchmarks.source and evaluate.prompt_sets, are no stage dependencies DVC could hash: their paths
depend on params and may lie outside the project. Stage `check` writes one fingerprint file per
reader (base, seed, each enabled suite, the judges, the general pairs where mix.general_size draws
some) and each reader depends on its own, so a new checkpoint in the base folder re-runs base and
what follows, and an edited TruthfulQA file re-runs the truthfulqa evaluations and nothing else. A
hub dataset id is recorded by name only.
"""

from __future__ import annotations

from pathlib import Path

from isara.config import Params
from isara.datasets import source_file
from isara.errors import IsaraError
from isara.eval.inputs import INPUTS, File, benchmark
from isara.fingerprint import Digests, model_fingerprint


def reads(p: Params) -> dict[str, list[File]]:
    """reader -> the (source, file in a source folder) pairs it reads; a plain file is (path, "").
    A suite's are those its inputs declare (isara.eval.inputs)."""
    source = p.data.seed_source
    split = p.benchmarks.beavertails_split
    seed = {"file": [(p.data.seed_file, "")],
            "beavertails": [benchmark(p, "beavertails_pairs", split=split), benchmark(p, "beavertails_prompts")],
            "truthfulqa": [benchmark(p, "truthfulqa")],
            "self_instruct": [benchmark(p, "self_instruct")]}[source]
    judges = []
    if set(p.judges.check) - {"pairwise"}:
        judges.append(benchmark(p, "beavertails_pairs", split=split))
    if "pairwise" in p.judges.check:
        judges.append(benchmark(p, "hh_rlhf"))
    dev = [(p.data.dev_file, "")] if p.data.dev_file else []
    general = {"general": [benchmark(p, "self_instruct")]} if p.mix.general_size else {}
    return {"seed": seed, **{suite: INPUTS[suite].files(p) for suite in p.evaluate.suites}, "judges": judges, "dev": dev,
            **general}


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
