"""The one typed, validated view of params.yaml that every stage reads.

Each field is documented where it is declared; `load_params` rejects unknown keys, wrong types
and out-of-range values with a message naming the key, e.g. ``params.yaml: gamma must be in
[0, 1], got 1.5``. Checks that need data (seed_size against the seed file, k against the pool)
live where that data is read.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from isara.errors import IsaraError


SEED_SOURCES = ("file", "beavertails", "truthfulqa", "self_instruct")
SUITES = ("harm", "xstest", "truthfulqa", "alpaca_eval")
HARM_JUDGES = ("refusal", "classifier", "beaver-dam")
JUDGE_STAGES = HARM_JUDGES + ("pairwise",)


@dataclass(frozen=True)
class Data:
    seed_source: str = "file"  # file (seed_file) | beavertails | truthfulqa | self_instruct (benchmarks.source)
    seed_file: str = "data/seed.jsonl"  # JSONL of {"question", "answer"}: the pool D0 is drawn from
    eval_file: str = "data/eval_prompts.jsonl"  # JSONL of {"prompt", "category"} for evaluate

    def __post_init__(self):
        _choice("data.seed_source", self.seed_source, SEED_SOURCES)


@dataclass(frozen=True)
class Benchmarks:
    source: str = "../shared/data"  # folder laid out like the official files (README), or "hub"
    alpaca_reference: str = "text_davinci_003"  # AlpacaEval reference outputs: text_davinci_003 | gpt4_1106_preview
    beavertails_split: str = "30k_test"  # labelled QA pairs for the classifier judge and judge checks

    def __post_init__(self):
        _choice("benchmarks.alpaca_reference", self.alpaca_reference, ("text_davinci_003", "gpt4_1106_preview"))


@dataclass(frozen=True)
class EvalLimits:
    harm: int = 140  # BeaverTails-Evaluation prompts (and each extra prompt set), stratified by category
    xstest: int = 100  # XSTest prompts, stratified by safe/unsafe
    truthfulqa: int = 100  # TruthfulQA questions not in D0, stratified by category
    alpaca_eval: int = 50  # AlpacaEval instructions, stratified by source dataset

    def __post_init__(self):
        for name in ("harm", "xstest", "truthfulqa", "alpaca_eval"):
            if getattr(self, name) < 0:
                raise IsaraError(f"params.yaml: evaluate.eval_limit.{name} must be >= 0 (0 = all)")


@dataclass(frozen=True)
class Model:
    name: str = "smollm2-135m-instruct"  # packaged alias, Hugging Face id, or local folder
    device: str = "auto"  # auto (cuda when present, else cpu) | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto (bf16 on CUDA when supported, else fp32) | float32 | bfloat16 | float16
    prompt_format: str = "auto"  # auto (chat template when the tokenizer has one) | chat | plain

    def __post_init__(self):
        _choice("model.device", self.device.split(":")[0], ("auto", "cpu", "cuda"))
        _choice("model.dtype", self.dtype, ("auto", "float32", "bfloat16", "float16"))
        _choice("model.prompt_format", self.prompt_format, ("auto", "chat", "plain"))


@dataclass(frozen=True)
class Embedder:
    name: str = "all-MiniLM-L6-v2"  # packaged alias, sentence-transformers id, or local folder
    batch_size: int = 64  # sentences encoded per forward pass

    def __post_init__(self):
        _positive("embedder.batch_size", self.batch_size)


@dataclass(frozen=True)
class Retrieval:
    n_trees: int = 16  # annoy trees: more trees, more exact neighbours, slower build

    def __post_init__(self):
        _positive("retrieval.n_trees", self.n_trees)


@dataclass(frozen=True)
class QuestionDecoding:
    max_new_tokens: int = 48  # cap on a generated question
    temperature: float = 0.9  # sampling temperature: questions must vary
    top_p: float = 0.95  # nucleus sampling mass

    def __post_init__(self):
        _positive("generation.question.max_new_tokens", self.max_new_tokens)
        _in_range("generation.question.temperature", self.temperature, 0.0, None, low_open=True)
        _in_range("generation.question.top_p", self.top_p, 0.0, 1.0, low_open=True)


@dataclass(frozen=True)
class AnswerDecoding:
    max_new_tokens: int = 112  # cap on a generated answer
    num_beams: int = 2  # beam search width for answers (1 = greedy)
    repetition_penalty: float = 1.1  # >1 discourages loops
    no_repeat_ngram_size: int = 4  # no n-gram of this size twice in an answer (0 = off)

    def __post_init__(self):
        _positive("generation.answer.max_new_tokens", self.max_new_tokens)
        _positive("generation.answer.num_beams", self.num_beams)
        _in_range("generation.answer.repetition_penalty", self.repetition_penalty, 0.0, None, low_open=True)
        if self.no_repeat_ngram_size < 0:
            raise IsaraError(f"params.yaml: generation.answer.no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")


@dataclass(frozen=True)
class Generation:
    samples_per_iteration: int = 40  # new questions attempted per round (the paper: 512)
    batch_size: int = 8  # prompts per generate() call, padded on the left
    question: QuestionDecoding = field(default_factory=QuestionDecoding)
    answer: AnswerDecoding = field(default_factory=AnswerDecoding)

    def __post_init__(self):
        _positive("generation.samples_per_iteration", self.samples_per_iteration)
        _positive("generation.batch_size", self.batch_size)


@dataclass(frozen=True)
class Filter:
    min_question_words: int = 4  # shorter questions are dropped as "too_short"
    max_question_words: int = 60  # longer questions are dropped as "too_long"
    min_answer_words: int = 8
    max_answer_words: int = 250
    ngram: int = 3  # n of the repeated n-gram test for degenerate text
    max_ngram_repeats: int = 3  # text where one n-gram occurs more often than this is "degenerate"
    drop_unfinished: bool = True  # drop answers cut by max_new_tokens before EOS ("answer_unfinished")

    def __post_init__(self):
        for name in ("min_question_words", "max_question_words", "min_answer_words", "max_answer_words"):
            _positive(f"filter.{name}", getattr(self, name))
        if self.min_question_words > self.max_question_words or self.min_answer_words > self.max_answer_words:
            raise IsaraError("params.yaml: filter min_*_words must not exceed max_*_words")
        _positive("filter.ngram", self.ngram)
        _positive("filter.max_ngram_repeats", self.max_ngram_repeats)


@dataclass(frozen=True)
class Lora:
    r: int = 8  # adapter rank
    alpha: int = 16  # scaling numerator (scale = alpha / r)
    dropout: float = 0.05
    target_modules: str = "all-linear"  # peft target_modules

    def __post_init__(self):
        _positive("finetune.lora.r", self.r)
        _in_range("finetune.lora.dropout", self.dropout, 0.0, 1.0)


@dataclass(frozen=True)
class Finetune:
    method: str = "full"  # full | lora (peft; merged into the weights after training)
    init_from: str = "previous"  # previous (round t starts from round t-1's model) | base
    epochs: float = 2  # passes over the mixed training set
    learning_rate: float = 1e-4
    batch_size: int = 8  # examples per optimizer step (per device)
    grad_accum: int = 1  # gradient accumulation steps
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_length: int = 512  # prompt+answer tokens; longer examples are truncated from the answer end
    gradient_checkpointing: bool = False  # trade compute for memory on big models
    lora: Lora = field(default_factory=Lora)

    def __post_init__(self):
        _choice("finetune.method", self.method, ("full", "lora"))
        _choice("finetune.init_from", self.init_from, ("previous", "base"))
        _in_range("finetune.epochs", self.epochs, 0.0, None, low_open=True)
        _in_range("finetune.learning_rate", self.learning_rate, 0.0, None, low_open=True)
        _positive("finetune.batch_size", self.batch_size)
        _positive("finetune.grad_accum", self.grad_accum)
        _in_range("finetune.warmup_ratio", self.warmup_ratio, 0.0, 1.0)
        _positive("finetune.max_length", self.max_length)


@dataclass(frozen=True)
class Evaluate:
    batch_size: int = 8  # prompts per generate() call
    max_new_tokens: int = 64  # greedy answer length for evaluation
    limit: int = 0  # evaluate on the first `limit` prompts per category (0 = all)
    suites: tuple = ()  # benchmark suites for the base model and every round: harm | xstest | truthfulqa | alpaca_eval
    eval_limit: EvalLimits = field(default_factory=EvalLimits)  # items per suite (0 = all)
    prompt_sets: dict = field(default_factory=dict)  # extra harm prompt sets, name -> CSV/JSONL with `prompt`
    long_max_new_tokens: int = 128  # answer length for alpaca_eval

    def __post_init__(self):
        _positive("evaluate.batch_size", self.batch_size)
        _positive("evaluate.max_new_tokens", self.max_new_tokens)
        _positive("evaluate.long_max_new_tokens", self.long_max_new_tokens)
        if self.limit < 0:
            raise IsaraError(f"params.yaml: evaluate.limit must be >= 0, got {self.limit}")
        for suite in self.suites:
            _choice("evaluate.suites[]", suite, SUITES)


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
        _in_range("judges.classifier.epochs", self.epochs, 0.0, None, low_open=True)
        _in_range("judges.classifier.test_fraction", self.test_fraction, 0.0, 1.0, low_open=True)
        _in_range("judges.classifier.refusal_augmentation", self.refusal_augmentation, 0.0, 1.0)
        _positive("judges.classifier.batch_size", self.batch_size)
        _positive("judges.classifier.max_length", self.max_length)


@dataclass(frozen=True)
class Pairwise:
    kind: str = "local"  # local (causal LM) | endpoint (OpenAI-compatible API) | reward (reward model)
    model: str = "models/iter0"  # local/reward: folder or hub id; endpoint: the served model name
    base_url: str = ""  # endpoint only, e.g. http://localhost:8000/v1

    def __post_init__(self):
        _choice("judges.pairwise.kind", self.kind, ("local", "endpoint", "reward"))


@dataclass(frozen=True)
class Judges:
    harm: tuple = ("refusal",)  # harm judges for the harm suite: refusal | classifier | beaver-dam
    check: tuple = ()  # judges whose error is measured (stage judge@NAME): refusal | classifier | beaver-dam | pairwise
    beaver_dam: str = "PKU-Alignment/beaver-dam-7b"  # folder or hub id of the 14-label QA-moderation model
    check_limit: int = 200  # hh-rlhf pairs for the pairwise judge's accuracy (0 = all)
    classifier: Classifier = field(default_factory=Classifier)
    pairwise: Pairwise = field(default_factory=Pairwise)

    def __post_init__(self):
        for name in self.harm:
            _choice("judges.harm[]", name, HARM_JUDGES)
        for name in self.check:
            _choice("judges.check[]", name, JUDGE_STAGES)
        for name in self.harm:
            if name != "refusal" and name not in self.check:
                raise IsaraError(f"params.yaml: judges.harm uses '{name}', so judges.check must list it "
                                 "(its stage trains or checks it, and every number needs its measured error)")


@dataclass(frozen=True)
class Params:
    seed_size: int = 64  # |D0|: seed pairs drawn reproducibly from data.seed_file
    k: int = 3  # nearest pool examples used as in-context examples per prompt
    gamma: float = 0.3  # share of the training weight carried by D0; 1 = seed only, 0 = generated only
    rouge_threshold: float = 0.7  # drop a candidate whose ROUGE-L F vs an existing question is >= this
    seed: int = 0  # one seed for sampling D0, anchors, generation and training
    iterations: dict = field(default_factory=lambda: {"1": {"prev": 0}, "2": {"prev": 1}})  # round -> {"prev": round - 1}
    data: Data = field(default_factory=Data)
    benchmarks: Benchmarks = field(default_factory=Benchmarks)
    judges: Judges = field(default_factory=Judges)
    model: Model = field(default_factory=Model)
    embedder: Embedder = field(default_factory=Embedder)
    retrieval: Retrieval = field(default_factory=Retrieval)
    generation: Generation = field(default_factory=Generation)
    filter: Filter = field(default_factory=Filter)
    finetune: Finetune = field(default_factory=Finetune)
    evaluate: Evaluate = field(default_factory=Evaluate)

    def __post_init__(self):
        _positive("seed_size", self.seed_size)
        _positive("k", self.k)
        _in_range("gamma", self.gamma, 0.0, 1.0)
        _in_range("rouge_threshold", self.rouge_threshold, 0.0, 1.0, low_open=True)
        if not all(isinstance(key, str) and key.isdigit() for key in self.iterations):
            raise IsaraError('params.yaml: iterations keys must be quoted numbers ("1", "2", ...)')
        rounds = sorted(int(key) for key in self.iterations)
        if rounds != list(range(1, len(rounds) + 1)):
            raise IsaraError(f"params.yaml: iterations must be numbered 1..T, got {rounds}")
        for key, spec in self.iterations.items():
            prev = spec.get("prev") if isinstance(spec, dict) else None
            if prev != int(key) - 1:
                raise IsaraError(f"params.yaml: iterations.{key}.prev must be {int(key) - 1}, got {prev}")



def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; raise IsaraError naming the offending key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise IsaraError(f"{path}: not valid YAML ({err})") from None
    try:
        return _build(Params, raw, "")
    except IsaraError as err:
        raise IsaraError(str(err).replace("params.yaml:", f"{path}:", 1)) from None


def _build(cls, raw, prefix: str):
    if not isinstance(raw, dict):
        raise IsaraError(f"params.yaml: {prefix.rstrip('.') or 'top level'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise IsaraError(f"params.yaml: unknown key '{prefix}{unknown[0]}'")
    values = {}
    for name, value in raw.items():
        kind = hints[name]
        key = prefix + name
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, value, key + ".")
        else:
            values[name] = _coerce(key, kind, value)
    return cls(**values)


def _coerce(key: str, kind, value):
    if kind is tuple and isinstance(value, list):
        return tuple(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool) or kind is not bool and isinstance(value, bool):
        raise IsaraError(f"params.yaml: {key} must be {kind.__name__}, got {value!r}")
    if not isinstance(value, kind):
        raise IsaraError(f"params.yaml: {key} must be {kind.__name__}, got {value!r}")
    return value


def _positive(key: str, value: int) -> None:
    if value < 1:
        raise IsaraError(f"params.yaml: {key} must be >= 1, got {value}")


def _in_range(key, value, low, high, low_open=False) -> None:
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high):
        left = "(" if low_open else "["
        right = f"{high}]" if high is not None else "inf)"
        raise IsaraError(f"params.yaml: {key} must be in {left}{low}, {right}, got {value}")


def _choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise IsaraError(f"params.yaml: {key} must be one of {', '.join(options)}, got {value!r}")
