"""params.yaml `evaluate:` and `judges:`: what each method is measured on, and the judges that
score its answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from isara.config.validators import choice as _choice
from isara.config.validators import choices as _choices
from isara.config.validators import integer as _integer
from isara.config.validators import in_range as _in_range
from isara.config.validators import name as _name
from isara.config.validators import positive as _positive
from isara.config.names import (BATCH_MAX, BATCH_TOKENS_MAX, HARM_JUDGES, HARM_SETS,
                                JUDGE_STAGES, LENGTH_MAX, SUITES, TOKENS_MAX, WORKERS_MAX)
from isara.errors import IsaraError
from isara.config.urls import has_userinfo


# Suites whose answers are judged as answers (a preference or reward judge), not as refusals, get
# room for a whole answer; the refusal judge reads the first sentences, evaluate.max_new_tokens.
LONG_ANSWERS = {"alpaca_eval": 128, "reward": 128, "domain": 192}


def eval_limits(given: dict[str, int]) -> dict[str, int]:
    """evaluate.eval_limit: one count per suite of the registry (isara.config.names.SUITES, in its
    order), the suite's default where params.yaml gives none; an unknown suite is an unknown key."""
    unknown = sorted(set(given) - set(SUITES))
    if unknown:
        raise IsaraError(f"params.yaml: unknown key 'evaluate.eval_limit.{unknown[0]}'")
    limits = {name: given.get(name, default) for name, default in SUITES.items()}
    for name, limit in limits.items():
        _integer(f"evaluate.eval_limit.{name}", limit, 0)
    return limits


@dataclass(frozen=True)
class Evaluate:
    batch_size: int = 32  # sequences per generate() call, prompts bucketed by length
    max_batch_tokens: int = 16_384  # (longest prompt + new tokens) x sequences per call
    prefill_tokens: int = 2048  # padded prompt tokens per prefill forward; the batch then decodes as one
    workers: int = 1  # processes, one per device (CUDA device or a share of the CPU cores)
    max_new_tokens: int = 64  # greedy answer length for evaluation (a suite's own in max_new_tokens_by_suite)
    suites: tuple = ("harm", "xstest", "dev")  # suites measured for every method: a name of names.SUITES
    harm_sets: tuple = ("demo",)  # prompt sets of the harm suite: demo | beavertails | a name in prompt_sets
    eval_limit: dict[str, int] = field(default_factory=dict)  # items per suite (0 = all), defaults in names.SUITES
    prompt_sets: dict = field(default_factory=dict)  # extra harm prompt sets, name -> CSV/JSONL with `prompt`
    max_new_tokens_by_suite: dict[str, int] = field(default_factory=lambda: dict(LONG_ANSWERS))  # suite -> length

    def max_new_tokens_for(self, suite: str) -> int:
        """The greedy answer length of a suite's answers."""
        return self.max_new_tokens_by_suite.get(suite, self.max_new_tokens)

    def __post_init__(self):
        object.__setattr__(self, "eval_limit", eval_limits(self.eval_limit))
        _positive("evaluate.batch_size", self.batch_size, BATCH_MAX)
        _positive("evaluate.max_batch_tokens", self.max_batch_tokens, BATCH_TOKENS_MAX)
        _positive("evaluate.prefill_tokens", self.prefill_tokens, BATCH_TOKENS_MAX)
        _positive("evaluate.workers", self.workers, WORKERS_MAX)
        _positive("evaluate.max_new_tokens", self.max_new_tokens, TOKENS_MAX)
        for suite, tokens in self.max_new_tokens_by_suite.items():
            _choice("evaluate.max_new_tokens_by_suite", suite, SUITES)
            _positive(f"evaluate.max_new_tokens_by_suite.{suite}", tokens, TOKENS_MAX)
        _choices("evaluate.suites", self.suites, SUITES)
        for name, path in self.prompt_sets.items():
            _name("evaluate.prompt_sets", name)
            if name in HARM_SETS:
                raise IsaraError(f"params.yaml: evaluate.prompt_sets.{name}: '{name}' is a built-in harm set")
            if not isinstance(path, str) or not path:
                raise IsaraError(f"params.yaml: evaluate.prompt_sets.{name} must be a file path")
        _choices("evaluate.harm_sets", self.harm_sets, HARM_SETS + tuple(self.prompt_sets))
        if "harm" in self.suites and not self.harm_sets:
            raise IsaraError("params.yaml: evaluate.harm_sets must name at least one prompt set for the harm suite")


@dataclass(frozen=True)
class Classifier:
    kind: str = "lm-probe"  # lm-probe (probe on a frozen causal LM) | cross-encoder (fine-tuned sentence encoder)
    backbone: str = "smollm2-135m-instruct"  # lm-probe: packaged alias, causal-LM folder or hub id
    layers: tuple = (0.75, 1.0)  # lm-probe: depths read, as fractions of the layer count
    encoder: str = "all-MiniLM-L6-v2"  # cross-encoder: packaged alias, BERT-like folder or hub id
    epochs: float = 4.0  # cross-encoder: passes over the training split
    learning_rate: float = 8e-5  # cross-encoder
    batch_size: int = 16  # cross-encoder: training pairs per step
    max_length: int = 256  # tokens of prompt + answer
    test_fraction: float = 0.2  # held-out share, grouped by prompt
    refusal_augmentation: float = 0.5  # share of harmful training prompts also given a templated refusal (safe)

    def __post_init__(self):
        _choice("judges.classifier.kind", self.kind, ("lm-probe", "cross-encoder"))
        if not self.layers:
            raise IsaraError("params.yaml: judges.classifier.layers must list at least one depth")
        for fraction in self.layers:
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
                raise IsaraError(f"params.yaml: judges.classifier.layers[] must be numbers, got {fraction!r}")
            _in_range("judges.classifier.layers[]", fraction, 0.0, 1.0, low_open=True)
        _in_range("judges.classifier.epochs", self.epochs, 0.0, 1000.0, low_open=True)
        _in_range("judges.classifier.learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        _in_range("judges.classifier.test_fraction", self.test_fraction, 0.0, 1.0, low_open=True, high_open=True)
        _in_range("judges.classifier.refusal_augmentation", self.refusal_augmentation, 0.0, 1.0)
        _positive("judges.classifier.batch_size", self.batch_size, BATCH_MAX)
        _positive("judges.classifier.max_length", self.max_length, LENGTH_MAX)


@dataclass(frozen=True)
class Pairwise:
    kind: str = "local"  # local (causal LM) | endpoint (OpenAI-compatible API) | reward (reward model)
    model: str = "models/iter0"  # local/reward: folder or hub id; endpoint: the served model name
    base_url: str = ""  # endpoint only, e.g. http://localhost:8000/v1
    api_key_env: str = ""  # endpoint only: the environment variable holding the API key ("" = send no key)
    allow_insecure_http: bool = False  # endpoint only: send the key over plain http to a host other than localhost

    def __post_init__(self):
        _choice("judges.pairwise.kind", self.kind, ("local", "endpoint", "reward"))
        if has_userinfo(self.base_url):  # said without the URL: it holds a secret
            raise IsaraError("params.yaml: judges.pairwise.base_url carries credentials (user info before '@'); "
                             "remove them and name the environment variable holding the key in "
                             "judges.pairwise.api_key_env")


@dataclass(frozen=True)
class Judges:
    harm: tuple = ("refusal",)  # harm judges for the harm suite: refusal | classifier | beaver-dam
    check: tuple = ()  # judges whose error is measured (stage judge@NAME): refusal | classifier | beaver-dam | pairwise
    beaver_dam: str = "PKU-Alignment/beaver-dam-7b"  # folder or hub id of the 14-label QA-moderation model
    check_limit: int = 200  # hh-rlhf pairs for the pairwise judge's accuracy (0 = all)
    reward_model: str = ""  # sequence-classification reward model of the reward suite (folder or hub id)
    classifier: Classifier = field(default_factory=Classifier)
    pairwise: Pairwise = field(default_factory=Pairwise)

    def __post_init__(self):
        _choices("judges.harm", self.harm, HARM_JUDGES)
        _choices("judges.check", self.check, JUDGE_STAGES)
        for name in self.harm:
            if name != "refusal" and name not in self.check:
                raise IsaraError(f"params.yaml: judges.harm uses '{name}', so judges.check must list it "
                                 "(its stage trains or checks it, and every number needs its measured error)")
        _integer("judges.check_limit", self.check_limit, 0)
