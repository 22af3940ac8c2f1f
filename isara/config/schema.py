"""The fields of params.yaml, each documented where it is declared and checked on creation.

Checks that need data (seed_size against the seed file, k against the pool) live where that data
is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from isara.config.checks import choice as _choice
from isara.config.checks import integer as _integer
from isara.config.checks import in_range as _in_range
from isara.config.checks import name as _name
from isara.config.checks import positive as _positive
from isara.errors import IsaraError


SEED_SOURCES = ("file", "beavertails", "truthfulqa", "self_instruct")
SUITES = ("harm", "xstest", "truthfulqa", "alpaca_eval", "reward")
HARM_JUDGES = ("refusal", "classifier", "beaver-dam")
JUDGE_STAGES = HARM_JUDGES + ("pairwise",)
PROMPTINGS = ("zero_shot", "icl", "icl_knn")
BASE = "iter0"  # the base model (models/iter0) and D0 (work/iter0/pool.jsonl): round 0
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


@dataclass(frozen=True)
class Data:
    seed_source: str = "file"  # file (seed_file) | beavertails | truthfulqa | self_instruct (benchmarks.source)
    seed_file: str = "data/seed.jsonl"  # JSONL of {"question", "answer"}: the pool D0 is drawn from
    eval_file: str = "data/eval_prompts.jsonl"  # JSONL of {"prompt", "category"}: the harm suite's demo set
    safe_file: str = "data/safe_prompts.jsonl"  # safe prompts that look risky: over-refusal ("" = not measured)

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
    reward: int = 0  # safe prompts (data.safe_file) whose answers the reward model scores, by category

    def __post_init__(self):
        for name in ("harm", "xstest", "truthfulqa", "alpaca_eval", "reward"):
            _integer(f"evaluate.eval_limit.{name}", getattr(self, name), 0)


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
        _positive("embedder.batch_size", self.batch_size, BATCH_MAX)


@dataclass(frozen=True)
class Retrieval:
    n_trees: int = 16  # annoy trees: more trees, more exact neighbours, slower build
    exact_below: int = 15_000  # pools smaller than this are searched exactly (0: annoy at every size)
    min_recall: float = 0.95  # annoy's search_k doubles until its recall@k against exact search reaches this
    recall_sample: int = 200  # pool items (drawn by seed) annoy's recall is measured on

    def __post_init__(self):
        _positive("retrieval.n_trees", self.n_trees, 1000)
        _integer("retrieval.exact_below", self.exact_below, 0)
        _in_range("retrieval.min_recall", self.min_recall, 0.0, 1.0, low_open=True)
        _positive("retrieval.recall_sample", self.recall_sample, 100_000)


@dataclass(frozen=True)
class QuestionDecoding:
    max_new_tokens: int = 48  # cap on a generated question
    temperature: float = 0.9  # sampling temperature: questions must vary
    top_k: int = 50  # sampling keeps the k most likely tokens (Hugging Face's default); 0 = the whole vocabulary
    top_p: float = 0.95  # nucleus sampling mass

    def __post_init__(self):
        _positive("generation.question.max_new_tokens", self.max_new_tokens, TOKENS_MAX)
        _in_range("generation.question.temperature", self.temperature, 0.0, 100.0, low_open=True)
        _integer("generation.question.top_k", self.top_k, 0)
        _in_range("generation.question.top_p", self.top_p, 0.0, 1.0, low_open=True)


@dataclass(frozen=True)
class AnswerDecoding:
    max_new_tokens: int = 112  # cap on a generated answer
    num_beams: int = 2  # beam search width for answers (1 = greedy)
    repetition_penalty: float = 1.1  # >1 discourages loops
    no_repeat_ngram_size: int = 4  # no n-gram of this size twice in an answer (0 = off)
    trim_to_sentence: bool = True  # an answer the cap cuts keeps its complete sentences and counts as finished

    def __post_init__(self):
        _positive("generation.answer.max_new_tokens", self.max_new_tokens, TOKENS_MAX)
        _positive("generation.answer.num_beams", self.num_beams, 64)
        _in_range("generation.answer.repetition_penalty", self.repetition_penalty, 0.0, 100.0, low_open=True)
        _integer("generation.answer.no_repeat_ngram_size", self.no_repeat_ngram_size, 0, 64)


@dataclass(frozen=True)
class Generation:
    samples_per_iteration: int = 40  # new questions attempted per round (the paper: 512)
    batch_size: int = 32  # sequences per generate() call (beams count), prompts bucketed by length
    max_batch_tokens: int = 32_768  # (longest prompt + new tokens) x sequences per call: bounds the KV cache
    prefill_tokens: int = 2048  # padded prompt tokens per prefill forward; the batch then decodes as one
    workers: int = 1  # processes, one per device (CUDA device or a share of the CPU cores)
    backend: str = "hf"  # hf | vllm (sampled questions and greedy evaluation; beam answers stay on hf)
    tensor_parallel: int = 1  # vllm: GPUs one model is split over
    question: QuestionDecoding = field(default_factory=QuestionDecoding)
    answer: AnswerDecoding = field(default_factory=AnswerDecoding)

    def __post_init__(self):
        _positive("generation.samples_per_iteration", self.samples_per_iteration)
        _positive("generation.batch_size", self.batch_size, BATCH_MAX)
        _positive("generation.max_batch_tokens", self.max_batch_tokens, BATCH_TOKENS_MAX)
        _positive("generation.prefill_tokens", self.prefill_tokens, BATCH_TOKENS_MAX)
        _positive("generation.workers", self.workers, WORKERS_MAX)
        _choice("generation.backend", self.backend, BACKENDS)
        _positive("generation.tensor_parallel", self.tensor_parallel, WORKERS_MAX)


@dataclass(frozen=True)
class Filter:
    min_question_words: int = 4  # shorter questions are dropped as "too_short"
    max_question_words: int = 60  # longer questions are dropped as "too_long"
    min_answer_words: int = 8
    max_answer_words: int = 250
    ngram: int = 3  # n of the repeated n-gram test for degenerate text
    max_ngram_repeats: int = 3  # text where one n-gram occurs more often than this is "degenerate"
    drop_unfinished: bool = True  # drop answers cut by max_new_tokens before EOS ("answer_unfinished")
    drop_contaminated: bool = True  # drop questions too close to an evaluation prompt ("contaminated")
    contamination_rouge: float = 0.7  # ROUGE-L F against an evaluation prompt at or above this: contaminated
    contamination_cosine: float = 0.9  # embedding cosine to an evaluation prompt at or above this: contaminated
    min_domain_similarity: float = 0.0  # > 0: drop questions whose nearest D0 question is less similar ("off_domain")
    judges: tuple = ()  # harm judges whose "harmful" verdict on a generated pair drops it ("judge_veto")

    def __post_init__(self):
        for name in ("min_question_words", "max_question_words", "min_answer_words", "max_answer_words"):
            _positive(f"filter.{name}", getattr(self, name))
        if self.min_question_words > self.max_question_words or self.min_answer_words > self.max_answer_words:
            raise IsaraError("params.yaml: filter min_*_words must not exceed max_*_words")
        _positive("filter.ngram", self.ngram, 100)
        _positive("filter.max_ngram_repeats", self.max_ngram_repeats)
        _in_range("filter.contamination_rouge", self.contamination_rouge, 0.0, 1.0, low_open=True)
        _in_range("filter.contamination_cosine", self.contamination_cosine, 0.0, 1.0, low_open=True)
        _in_range("filter.min_domain_similarity", self.min_domain_similarity, 0.0, 1.0)
        for name in self.judges:
            _choice("filter.judges[]", name, HARM_JUDGES)


@dataclass(frozen=True)
class Lora:
    r: int = 8  # adapter rank
    alpha: int = 16  # scaling numerator (scale = alpha / r)
    dropout: float = 0.05
    target_modules: str = "all-linear"  # peft target_modules

    def __post_init__(self):
        _positive("finetune.lora.r", self.r, 4096)
        _positive("finetune.lora.alpha", self.alpha, 65536)
        _in_range("finetune.lora.dropout", self.dropout, 0.0, 1.0, high_open=True)


@dataclass(frozen=True)
class Finetune:
    method: str = "full"  # full | lora (peft adapters)
    save: str = "merged"  # lora: merged (a full checkpoint) | adapter (the adapter, applied on the base at load)
    init_from: str = "previous"  # previous (round t starts from round t-1's model) | base
    epochs: float = 2  # passes over the mixed training set
    learning_rate: float = 1e-4
    batch_size: int = 8  # examples per optimizer step (per device)
    grad_accum: int = 1  # gradient accumulation steps
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_length: int = 512  # prompt+answer tokens; longer examples are truncated from the answer end
    gradient_checkpointing: bool = False  # trade compute for memory on big models
    optimizer: str = "adamw_torch_fused"  # adamw_torch_fused | adamw_torch | adamw_8bit (bitsandbytes) | paged_adamw_8bit
    num_processes: int = 1  # data-parallel processes (accelerate launch), one per GPU or a share of the CPU cores
    accelerate_config: str = ""  # accelerate config file (FSDP, DeepSpeed, several machines); "" = plain DDP
    save_steps: int = 50  # checkpoint every this many optimizer steps, to resume after a crash (0 = never)
    check_memory: bool = True  # stop before loading weights when the estimate exceeds the device's memory
    lora: Lora = field(default_factory=Lora)

    def __post_init__(self):
        _choice("finetune.method", self.method, ("full", "lora"))
        _choice("finetune.init_from", self.init_from, ("previous", "base"))
        _in_range("finetune.epochs", self.epochs, 0.0, 1000.0, low_open=True)
        _in_range("finetune.learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        _positive("finetune.batch_size", self.batch_size, BATCH_MAX)
        _positive("finetune.grad_accum", self.grad_accum, BATCH_MAX)
        _in_range("finetune.warmup_ratio", self.warmup_ratio, 0.0, 1.0, high_open=True)  # 1 would never reach the peak
        _in_range("finetune.weight_decay", self.weight_decay, 0.0, 1.0)
        _positive("finetune.max_length", self.max_length, LENGTH_MAX)
        _choice("finetune.save", self.save, ("merged", "adapter"))
        if self.save == "adapter" and self.method != "lora":
            raise IsaraError("params.yaml: finetune.save: adapter needs finetune.method: lora")
        _choice("finetune.optimizer", self.optimizer, OPTIMIZERS)
        _positive("finetune.num_processes", self.num_processes, WORKERS_MAX)
        _integer("finetune.save_steps", self.save_steps, 0)
        if self.accelerate_config and not CONFIG_FILE.match(self.accelerate_config):
            raise IsaraError(f"params.yaml: finetune.accelerate_config must be a .yaml, .yml or .json file path "
                             f"without '..', got {self.accelerate_config!r}")


@dataclass(frozen=True)
class Evaluate:
    batch_size: int = 32  # sequences per generate() call, prompts bucketed by length
    max_batch_tokens: int = 16_384  # (longest prompt + new tokens) x sequences per call
    prefill_tokens: int = 2048  # padded prompt tokens per prefill forward; the batch then decodes as one
    workers: int = 1  # processes, one per device (CUDA device or a share of the CPU cores)
    max_new_tokens: int = 64  # greedy answer length for evaluation
    suites: tuple = ("harm",)  # suites measured for every method: harm | xstest | truthfulqa | alpaca_eval | reward
    harm_sets: tuple = ("demo",)  # prompt sets of the harm suite: demo | beavertails | a name in prompt_sets
    eval_limit: EvalLimits = field(default_factory=EvalLimits)  # items per suite (0 = all)
    prompt_sets: dict = field(default_factory=dict)  # extra harm prompt sets, name -> CSV/JSONL with `prompt`
    long_max_new_tokens: int = 128  # answer length for alpaca_eval

    def __post_init__(self):
        _positive("evaluate.batch_size", self.batch_size, BATCH_MAX)
        _positive("evaluate.max_batch_tokens", self.max_batch_tokens, BATCH_TOKENS_MAX)
        _positive("evaluate.prefill_tokens", self.prefill_tokens, BATCH_TOKENS_MAX)
        _positive("evaluate.workers", self.workers, WORKERS_MAX)
        _positive("evaluate.max_new_tokens", self.max_new_tokens, TOKENS_MAX)
        _positive("evaluate.long_max_new_tokens", self.long_max_new_tokens, TOKENS_MAX)
        for suite in self.suites:
            _choice("evaluate.suites[]", suite, SUITES)
        for name, path in self.prompt_sets.items():
            _name("evaluate.prompt_sets", name)
            if name in HARM_SETS:
                raise IsaraError(f"params.yaml: evaluate.prompt_sets.{name}: '{name}' is a built-in harm set")
            if not isinstance(path, str) or not path:
                raise IsaraError(f"params.yaml: evaluate.prompt_sets.{name} must be a file path")
        for name in self.harm_sets:
            _choice("evaluate.harm_sets[]", name, HARM_SETS + tuple(self.prompt_sets))
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
        for name in self.harm:
            _choice("judges.harm[]", name, HARM_JUDGES)
        for name in self.check:
            _choice("judges.check[]", name, JUDGE_STAGES)
        for name in self.harm:
            if name != "refusal" and name not in self.check:
                raise IsaraError(f"params.yaml: judges.harm uses '{name}', so judges.check must list it "
                                 "(its stage trains or checks it, and every number needs its measured error)")
        _integer("judges.check_limit", self.check_limit, 0)


@dataclass(frozen=True)
class Run:
    """One run of the loop: generate new pairs with `prev`'s model from `prev`'s pool, filter,
    mix with D0 and fine-tune. Its round number (seeds, sample ids) is prev's plus one."""

    prev: str  # the run it starts from: iter0 (the base model and D0) or another run's name
    rounds: int = 1  # generation budget in rounds: samples_per_iteration x rounds new questions


@dataclass(frozen=True)
class Method:
    """What evaluate measures: the model in models/<name>, prompted as `prompting` says."""

    prompting: str = "zero_shot"  # zero_shot (the question alone) | icl (k random seed pairs) | icl_knn (k nearest)


def _default_runs() -> dict:
    return {"iter1": Run("iter0"), "iter2": Run("iter1"), ONESHOT: Run("iter0", rounds=2)}


def _default_methods() -> dict:
    return {BASE: Method(), "icl": Method("icl"), "icl_knn": Method("icl_knn"), SEED_ONLY: Method(),
            ONESHOT: Method(), "iter1": Method(), "iter2": Method()}


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
    finetune: Finetune = field(default_factory=Finetune)
    evaluate: Evaluate = field(default_factory=Evaluate)

    def __post_init__(self):
        _positive("seed_size", self.seed_size)
        _positive("k", self.k, 1000)
        _integer("seed", self.seed, 0, SEED_MAX)
        _in_range("gamma", self.gamma, 0.0, 1.0)
        _in_range("rouge_threshold", self.rouge_threshold, 0.0, 1.0, low_open=True)
        self._check_runs()
        for name, method in self.methods.items():
            _name("methods", name)
            _choice(f"methods.{name}.prompting", method.prompting, PROMPTINGS)
        if "reward" in self.evaluate.suites and not (self.judges.reward_model and self.data.safe_file):
            raise IsaraError("params.yaml: evaluate.suites has reward, so judges.reward_model (a reward model) "
                             "and data.safe_file (its prompts) must be set")
        for name in self.filter.judges:
            if name != "refusal" and name not in self.judges.check:
                raise IsaraError(f"params.yaml: filter.judges uses '{name}', so judges.check must list it "
                                 "(its stage trains or checks it)")

    @property
    def rounds(self) -> list[str]:
        """The ISARA rounds, in order: iter1 .. iterT."""
        return sorted((name for name in self.runs if _round_number(name)), key=_round_number)

    def round_of(self, run: str) -> int:
        """The round a run generates as (its seeds and sample ids): 0 for iter0, prev's plus one."""
        return 0 if run == BASE else self.round_of(self.runs[run].prev) + 1

    def _check_runs(self) -> None:
        for name, run in self.runs.items():
            _name("runs", name)
            _positive(f"runs.{name}.rounds", run.rounds, 100)
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
    digits = name[4:]
    return int(digits) if name.startswith("iter") and digits.isdigit() and digits[0] != "0" else 0
