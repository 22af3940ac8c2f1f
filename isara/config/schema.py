"""params.yaml as a whole: its top-level keys, the loop's runs and the methods evaluated. Each
section's fields are declared, documented and checked on creation in their own module (`data`,
`generation`, `training`, `evaluation`); the names and bounds they share are in `names`.

Checks that need data (seed_size against the seed file, k against the pool) live where that data
is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isara.config.validators import choice as _choice
from isara.config.validators import integer as _integer
from isara.config.validators import in_range as _in_range
from isara.config.validators import name as _name
from isara.config.validators import positive as _positive
from isara.config.data import Benchmarks, Data, Filter
from isara.config.evaluation import Evaluate, Judges
from isara.config.generation import Embedder, Generation, Model, Retrieval
from isara.config.names import BASE, ONESHOT, PROMPTINGS, SEED_MAX, SEED_ONLY, round_number
from isara.config.training import Finetune, Mix
from isara.errors import IsaraError


@dataclass(frozen=True)
class Run:
    """One run of the loop: generate new pairs with `prev`'s model from `prev`'s pool, filter,
    mix with D0 and fine-tune. Its round number (seeds, sample ids) is prev's plus one."""

    prev: str  # the run it starts from: iter0 (the base model and D0) or another run's name
    rounds: int = 1  # generation budget in rounds: samples_per_iteration x rounds new questions
    objective: str = ""  # sft | sft+dpo for this run's fine-tune; "" = finetune.objective


@dataclass(frozen=True)
class Method:
    """What evaluate measures: the model in models/<name>, prompted as `prompting` says."""

    prompting: str = "zero_shot"  # zero_shot (the question alone) | icl (k random seed pairs) | icl_knn (k nearest)
    dev: bool = False  # also answer the labelled dev prompts (suite dev): the stop rule and failure anchors read them


def _default_runs() -> dict:
    return {"iter1": Run("iter0"), "iter2": Run("iter1"), ONESHOT: Run("iter0", rounds=2)}


def _default_methods() -> dict:
    return {BASE: Method(dev=True), "icl": Method("icl"), "icl_knn": Method("icl_knn"), SEED_ONLY: Method(),
            ONESHOT: Method(), "iter1": Method(dev=True), "iter2": Method(dev=True)}


@dataclass(frozen=True)
class Params:
    seed_size: int = 64  # |D0|: seed pairs drawn reproducibly from data.seed_file
    k: int = 3  # nearest pool examples used as in-context examples per prompt
    gamma: float = 0.3  # share of the training weight carried by D0; 1 = seed only, 0 = generated only
    rouge_threshold: float = 0.7  # drop a candidate whose ROUGE-L F vs an existing question is >= this
    seed: int = 0  # one seed for sampling D0, anchors, generation and training
    runs: dict[str, Run] = field(default_factory=_default_runs)  # the loop's runs: ISARA rounds iter1..iterT, oneshot
    methods: dict[str, Method] = field(default_factory=_default_methods)  # what evaluate measures
    data: Data = field(default_factory=Data)
    benchmarks: Benchmarks = field(default_factory=Benchmarks)
    judges: Judges = field(default_factory=Judges)
    model: Model = field(default_factory=Model)
    embedder: Embedder = field(default_factory=Embedder)
    retrieval: Retrieval = field(default_factory=Retrieval)
    generation: Generation = field(default_factory=Generation)
    filter: Filter = field(default_factory=Filter)
    mix: Mix = field(default_factory=Mix)
    finetune: Finetune = field(default_factory=Finetune)
    evaluate: Evaluate = field(default_factory=Evaluate)

    def __post_init__(self):
        _positive("seed_size", self.seed_size)
        _positive("k", self.k, 1000)
        _integer("seed", self.seed, 0, SEED_MAX)
        _in_range("gamma", self.gamma, 0.0, 1.0)
        _in_range("rouge_threshold", self.rouge_threshold, 0.0, 1.0, low_open=True)
        self._check_runs()
        self._check_failure_anchors()
        for name, method in self.methods.items():
            _name("methods", name)
            _choice(f"methods.{name}.prompting", method.prompting, PROMPTINGS)
        if "reward" in self.evaluate.suites and not (self.judges.reward_model and self.data.safe_file):
            raise IsaraError("params.yaml: evaluate.suites has reward, so judges.reward_model (a reward model) "
                             "and data.safe_file (its prompts) must be set")
        if "domain" in self.evaluate.suites and not self.data.domain_file:
            raise IsaraError("params.yaml: evaluate.suites has domain, so data.domain_file (its prompts) must be set")
        for name in self.filter.judges:
            if name not in ("refusal", "consistency") and name not in self.judges.check:
                raise IsaraError(f"params.yaml: filter.judges uses '{name}', so judges.check must list it "
                                 "(its stage trains or checks it)")

    @property
    def rounds(self) -> list[str]:
        """The ISARA rounds, in order: iter1 .. iterT."""
        return sorted((name for name in self.runs if _round_number(name)), key=_round_number)

    def round_of(self, run: str) -> int:
        """The round a run generates as (its seeds and sample ids): 0 for iter0, prev's plus one
        (oneshot too: 1). An ISARA round's is its own number (`names.round_number`), which the
        report reads from a method's name."""
        return 0 if run == BASE else self.round_of(self.runs[run].prev) + 1

    def _check_failure_anchors(self) -> None:
        """generation.anchors failures reads each run's prev's dev answers: they must be measured."""
        if self.generation.anchors != "failures":
            return
        if not self.generation.by_label or "dev" not in self.evaluate.suites or not self.data.dev_file:
            raise IsaraError("params.yaml: generation.anchors failures needs generation.by_label, data.dev_file "
                             "and dev in evaluate.suites")
        for name, run in self.runs.items():
            if run.prev not in self.methods or not self.methods[run.prev].dev:
                raise IsaraError(f"params.yaml: generation.anchors failures reads the dev answers of runs.{name}.prev: "
                                 f"methods.{run.prev} needs dev: true")

    def objective_of(self, run: str) -> str:
        """The training objective of a run's fine-tune: its own `objective`, else finetune.objective."""
        return self.runs[run].objective or self.finetune.objective

    def _check_runs(self) -> None:
        for name, run in self.runs.items():
            _name("runs", name)
            _positive(f"runs.{name}.rounds", run.rounds, 100)
            if run.objective:
                self.finetune.check_objective(f"runs.{name}.objective", run.objective)
            if name in (BASE, SEED_ONLY):
                raise IsaraError(f"params.yaml: runs.{name}: '{name}' is built by its own stage, not a run")
            if run.prev != BASE and run.prev not in self.runs:
                raise IsaraError(f"params.yaml: runs.{name}.prev must be iter0 or a run, got {run.prev!r}")
        for name in self.runs:  # no run may start, through its prevs, from itself
            seen, step = {name}, self.runs[name].prev
            while step != BASE:
                if step in seen:
                    raise IsaraError(f"params.yaml: runs.{name}.prev leads back to itself")
                seen.add(step)
                step = self.runs[step].prev
        numbers = [_round_number(name) for name in self.rounds]
        if numbers != list(range(1, len(numbers) + 1)):
            raise IsaraError(f"params.yaml: the ISARA rounds in runs must be iter1..iterT, got {self.rounds}")
        for t, name in enumerate(self.rounds, start=1):
            if self.runs[name].prev != f"iter{t - 1}" or self.runs[name].rounds != 1:
                raise IsaraError(f"params.yaml: runs.{name} must be {{prev: iter{t - 1}}} (one round's budget)")
        oneshot = self.runs.get(ONESHOT)
        if oneshot and (oneshot.prev != BASE or oneshot.rounds != len(self.rounds)):
            raise IsaraError(f"params.yaml: runs.oneshot must be {{prev: iter0, rounds: {len(self.rounds)}}}: "
                             "every ISARA round's budget, generated by the base model in one round")


def _round_number(name: str) -> int:
    """N for a run named iterN (N >= 1), else 0."""
    return round_number(name) or 0
