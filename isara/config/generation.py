"""params.yaml `model:`, `embedder:`, `retrieval:` and `generation:`: the model, the sentence
encoder, the nearest-neighbour search and how new pairs are generated."""

from __future__ import annotations

from dataclasses import dataclass, field

from isara.config.validators import choice as _choice
from isara.config.validators import integer as _integer
from isara.config.validators import in_range as _in_range
from isara.config.validators import positive as _positive
from isara.config.names import BACKENDS, BATCH_MAX, BATCH_TOKENS_MAX, TOKENS_MAX, WORKERS_MAX


@dataclass(frozen=True)
class Model:
    name: str = "smollm2-135m-instruct"  # packaged alias, Hugging Face id, or local folder
    device: str = "auto"  # auto (cuda when present, else cpu) | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto (bf16 on CUDA when supported and on CPUs with native bf16; else fp32) | float32 | bfloat16 | float16
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
    retries: int = 0  # labelled questions: answers sampled again, up to this many times, while the refusal judge
    # finds the answer at odds with the question's label (harmful answered, safe refused); the first that fits is kept

    def __post_init__(self):
        _positive("generation.answer.max_new_tokens", self.max_new_tokens, TOKENS_MAX)
        _positive("generation.answer.num_beams", self.num_beams, 64)
        _in_range("generation.answer.repetition_penalty", self.repetition_penalty, 0.0, 100.0, low_open=True)
        _integer("generation.answer.no_repeat_ngram_size", self.no_repeat_ngram_size, 0, 64)
        _integer("generation.answer.retries", self.retries, 0, 16)


@dataclass(frozen=True)
class Generation:
    samples_per_iteration: int = 40  # new questions attempted per round (the paper: 512)
    batch_size: int = 32  # sequences per generate() call (beams count), prompts bucketed by length
    max_batch_tokens: int = 32_768  # (longest prompt + new tokens) x sequences per call: bounds the KV cache
    prefill_tokens: int = 2048  # padded prompt tokens per prefill forward; the batch then decodes as one
    workers: int = 1  # processes, one per device (CUDA device or a share of the CPU cores)
    backend: str = "hf"  # hf | vllm (sampled questions and greedy evaluation; beam answers stay on hf)
    tensor_parallel: int = 1  # vllm: GPUs one model is split over
    by_label: bool = True  # labelled D0: a question prompt holds examples of its anchor's label only, and an
    # answer prompt those of its question's label (by the prompt judge); off = the paper's retrieval
    safe_share: float = 0.5  # by_label: share of question prompts anchored on safe examples
    label_k: int = 5  # the prompt judge: labelled D0 questions a question's label is the majority of
    harmful_at: float = 0.5  # the prompt judge: 0.5 the majority; above, harmful needs this share of the k
    anchors: str = "uniform"  # by_label: uniform | failures (more anchors where the prev model failed the dev split)
    question: QuestionDecoding = field(default_factory=QuestionDecoding)
    answer: AnswerDecoding = field(default_factory=AnswerDecoding)

    def __post_init__(self):
        _positive("generation.samples_per_iteration", self.samples_per_iteration)
        _in_range("generation.safe_share", self.safe_share, 0.0, 1.0)
        _positive("generation.label_k", self.label_k, 1000)
        _in_range("generation.harmful_at", self.harmful_at, 0.5, 1.0)
        _choice("generation.anchors", self.anchors, ("uniform", "failures"))
        _positive("generation.batch_size", self.batch_size, BATCH_MAX)
        _positive("generation.max_batch_tokens", self.max_batch_tokens, BATCH_TOKENS_MAX)
        _positive("generation.prefill_tokens", self.prefill_tokens, BATCH_TOKENS_MAX)
        _positive("generation.workers", self.workers, WORKERS_MAX)
        _choice("generation.backend", self.backend, BACKENDS)
        _positive("generation.tensor_parallel", self.tensor_parallel, WORKERS_MAX)
