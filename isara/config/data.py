"""params.yaml `data:`, `benchmarks:` and `filter:`: where the seed, evaluation and benchmark
files are, and which generated pairs are kept."""

from __future__ import annotations

from dataclasses import dataclass

from isara.config.validators import choice as _choice
from isara.config.validators import choices as _choices
from isara.config.validators import in_range as _in_range
from isara.config.validators import positive as _positive
from isara.config.names import FILTER_JUDGES, SEED_SOURCES
from isara.errors import IsaraError


@dataclass(frozen=True)
class Data:
    seed_source: str = "file"  # file (seed_file) | beavertails | truthfulqa | self_instruct (benchmarks.source)
    seed_file: str = "data/seed.jsonl"  # JSONL of {"question", "answer"}: the pool D0 is drawn from
    eval_file: str = "data/eval_prompts.jsonl"  # JSONL of {"prompt", "category"}: the harm suite's demo set
    safe_file: str = "data/safe_prompts.jsonl"  # safe prompts that look risky: over-refusal ("" = not measured)
    safe_share: float = 0.5  # share of D0 drawn from seed pairs labelled safe (0 = the harmful ones only)
    dev_file: str = "data/dev_prompts.jsonl"  # labelled dev prompts: defaults are chosen here ("" = none)
    domain_file: str = ""  # a domain's held-out prompts {"prompt"; optional "answer", "category"}: the domain suite

    def __post_init__(self):
        _choice("data.seed_source", self.seed_source, SEED_SOURCES)
        _in_range("data.safe_share", self.safe_share, 0.0, 1.0)


@dataclass(frozen=True)
class Benchmarks:
    source: str = "../shared/data"  # folder laid out like the official files (README), or "hub"
    alpaca_reference: str = "text_davinci_003"  # AlpacaEval reference outputs: text_davinci_003 | gpt4_1106_preview
    beavertails_split: str = "30k_test"  # labelled QA pairs for the classifier judge and judge checks

    def __post_init__(self):
        _choice("benchmarks.alpaca_reference", self.alpaca_reference, ("text_davinci_003", "gpt4_1106_preview"))


@dataclass(frozen=True)
class Filter:
    min_question_words: int = 3  # shorter questions are dropped as "question_too_short"
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
    judges: tuple = ()  # harm judges whose "harmful" verdict drops a generated pair ("judge_veto"), and content
    # gates against the starting model's own answer (isara.loop.gate): consistency ("inconsistent"), pairwise
    # (judges.pairwise prefers the own answer: "judge_prefers_own")
    min_consistency: float = 0.5  # consistency gate: least cosine between the pair's answer and the own answer
    label_consistent: bool = True  # labelled D0: drop a refused safe question ("needless_refusal") and an
    # answered harmful one ("harmful_answer"), the question's label by the prompt judge (isara.labels)

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
        _choices("filter.judges", self.judges, FILTER_JUDGES)
        _in_range("filter.min_consistency", self.min_consistency, -1.0, 1.0)
