"""`isara check`: every problem params.yaml and the data it selects would meet in a run, found
before the run starts (the params, dvc.yaml's runs and methods, the seed draw, each enabled
suite's files, the judges' data), each as one line naming the file actually read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from isara.config import Params, in_file, load_params
from isara.errors import IsaraError


@dataclass
class Preflight:
    params: Params | None = None
    problems: list[str] = field(default_factory=list)
    seeds: str = ""  # "N seed pairs from WHERE"
    counts: dict[str, int] = field(default_factory=dict)  # each suite's and judge's items

    @property
    def verdict(self) -> str:
        """One line: the seed pairs, each suite's and judge's items, the runs and methods."""
        listed = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        return (f"ok: {self.seeds}; {listed}; "
                f"{len(self.params.rounds)} rounds, {len(self.params.methods)} methods")


def preflight(params_path: str = "params.yaml", dvc_path: str = "dvc.yaml") -> Preflight:
    """Run every check; a check that fails adds its one-line problem and the others still run
    (except that nothing runs without valid params)."""
    found = Preflight()
    try:
        found.params = p = load_params(params_path)
    except IsaraError as err:
        found.problems.append(str(err))
        return found
    for check in _checks(p, params_path, dvc_path, found):
        try:
            check()
        except IsaraError as err:
            found.problems.append(in_file(str(err), params_path))
    return found


def _checks(p: Params, params_path: str, dvc_path: str, found: Preflight) -> list[Callable[[], None]]:
    from isara import datasets
    from isara.config.pipeline import check_pipeline, read_pipeline
    from isara.eval.inputs import suite_items
    from isara.loop.seed import draw_seed, seed_candidates
    from isara.text import words

    def pipeline():
        if Path(dvc_path).is_file():
            check_pipeline(p, read_pipeline(dvc_path), params_path, dvc_path)

    def seed():
        seeds, where = seed_candidates(p)
        draw_seed(seeds, p.seed_size, p.seed, where, p.finetune.max_length, p.data.safe_share)
        found.seeds = f"{len(seeds)} seed pairs from {where}"
        if p.data.seed_source == "file":  # the user's own questions (a benchmark's odd rows are not a shape)
            short_questions([row["question"] for row in seeds], where)

    def short_questions(questions: list[str], where: str) -> None:
        short = [q for q in questions if len(words(q)) < p.filter.min_question_words]
        if short:
            raise IsaraError(f"{where}: {len(short)} question(s) have fewer words than {params_path}'s "
                             f"filter.min_question_words ({p.filter.min_question_words}), e.g. {short[0]!r}; "
                             "the filter would drop generated questions like them: lower it")

    def domain_questions():
        short_questions([row["prompt"] for row in datasets.domain_prompts(p.data.domain_file)], p.data.domain_file)

    def neighbours():
        if p.k > p.seed_size:
            raise IsaraError(f"{params_path}: k={p.k} is larger than the seed pool (seed_size={p.seed_size})")

    def suite(name: str) -> Callable[[], None]:
        def read():
            found.counts.update({f"{name}/{part}": len(rows) for part, rows in suite_items(p, name).items()})
        return read

    def labelled_pairs():
        found.counts["judges/labelled pairs"] = len(datasets.beavertails_pairs(p.benchmarks.source,
                                                                         p.benchmarks.beavertails_split))

    def preference_pairs():
        found.counts["judges/hh-rlhf pairs"] = len(datasets.hh_rlhf_pairs(p.benchmarks.source))

    checks = [pipeline, seed, neighbours, *(suite(name) for name in p.evaluate.suites)]
    if p.data.domain_file:
        checks.append(domain_questions)
    if set(p.judges.check) & {"refusal", "classifier", "beaver-dam"}:
        checks.append(labelled_pairs)
    if "pairwise" in p.judges.check:
        checks.append(preference_pairs)
    return checks
