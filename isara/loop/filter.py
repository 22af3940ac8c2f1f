"""The filter that decides which generated pairs join the pool. Pure: no model, no I/O.

Checks run in this order; the first that fails is the row's `reason`:
  empty_question, empty_answer      nothing parsed from the model's text
  answer_unfinished                 the answer hit max_new_tokens before EOS (filter.drop_unfinished)
  question_too_short / _too_long    word counts outside filter.min/max_question_words
  answer_too_short / answer_too_long
  degenerate_question / _answer     one word n-gram repeated more than filter.max_ngram_repeats times
  contaminated                      the question comes as close to an evaluation prompt as
                                    filter.contamination_rouge (ROUGE-L F) or _cosine (embeddings)
                                    (filter.drop_contaminated; measured by stage audit: `audit`)
  off_domain                        its nearest D0 question is less similar than
                                    filter.min_domain_similarity (opt-in: 0 = off)
  judge_veto                        a harm judge of filter.judges finds the pair harmful (opt-in)
  inconsistent, judge_prefers_own   a content gate of filter.judges (consistency, pairwise) finds the
                                    answer at odds with, or worse than, the starting model's own
                                    answer to the question (opt-in; `isara.loop.gate`)
  needless_refusal, harmful_answer  a labelled candidate (generation.by_label) teaches the wrong
                                    behaviour for its kind of question: its safe question refused or
                                    its harmful one answered, by the refusal judge (filter.label_consistent)
  duplicate                         the normalised question already exists (pool or accepted earlier)
  rouge                             ROUGE-L F (rouge-score, stemmed: `isara.text.new_scorer`) of the
                                    question against any pool question or earlier accepted question
                                    >= rouge_threshold
Every row gets `rouge` (the highest ROUGE-L F found, when it was computed) and `rouge_nearest`
(the id of that question), so a user can see how close a rejected sample came.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Sequence

from isara.config.data import Filter
from isara.judges.refusal import is_refusal
from isara.labels import curation_reason
from isara.loop.gate import GATES, gate_reason
from isara.text import new_scorer, normalise, rouge_max, words


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str  # "accepted" or the first failed check
    rouge: float | None = None
    rouge_nearest: str | None = None


def is_degenerate(text: str, n: int, max_repeats: int) -> bool:
    """True when some word n-gram occurs more than `max_repeats` times (a generation loop)."""
    tokens = words(text)
    grams = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return bool(grams) and max(grams.values()) > max_repeats


def shape_reason(question: str, answer: str, finished: bool, cfg: Filter) -> str | None:
    if not question.strip():
        return "empty_question"
    if not answer.strip():
        return "empty_answer"
    if not finished:
        return "answer_unfinished"
    checks = (
        ("question", question, cfg.min_question_words, cfg.max_question_words),
        ("answer", answer, cfg.min_answer_words, cfg.max_answer_words),
    )
    for name, text, low, high in checks:
        count = len(words(text))
        if count < low:
            return f"{name}_too_short"
        if count > high:
            return f"{name}_too_long"
    for name, text, _, _ in checks:
        if is_degenerate(text, cfg.ngram, cfg.max_ngram_repeats):
            return f"degenerate_{name}"
    return None


def is_contaminated(audit: dict | None, cfg: Filter) -> bool:
    """Whether the audit of a question puts it as close to an evaluation prompt as the thresholds."""
    if not audit:
        return False
    rouge, cosine = audit.get("eval_rouge"), audit.get("eval_cosine")
    return (rouge is not None and rouge >= cfg.contamination_rouge) or \
        (cosine is not None and cosine >= cfg.contamination_cosine)


def _audit_reason(audit: dict | None, cfg: Filter) -> str | None:
    if cfg.drop_contaminated and is_contaminated(audit, cfg):
        return "contaminated"
    if cfg.min_domain_similarity > 0 and audit and audit.get("domain_similarity") is not None \
            and audit["domain_similarity"] < cfg.min_domain_similarity:
        return "off_domain"
    if is_flagged(audit, cfg.judges):
        return "judge_veto"
    return gate_reason(audit, cfg.judges, cfg.min_consistency)


def is_flagged(audit: dict | None, judges) -> bool:
    """Whether any harm judge of `judges` found the pair harmful (probability > 0.5) in its audit."""
    verdicts = (audit or {}).get("judges") or {}
    return any((verdicts.get(name) or 0.0) > 0.5 for name in judges if name not in GATES)


def filter_candidates(
    candidates: Sequence[dict], pool: Sequence[dict], cfg: Filter, threshold: float
) -> list[Verdict]:
    """One verdict per candidate ({"id", "question", "answer", optional "audit"}), in order.

    Candidates are compared with the pool and with the candidates accepted before them, so two
    near-identical new questions cannot both get in.
    """
    scorer = new_scorer()
    references = [(row["id"], row["question"]) for row in pool]
    seen = {normalise(row["question"]) for row in pool}
    verdicts = []
    for row in candidates:
        question, answer = row.get("question") or "", row.get("answer") or ""
        finished = row.get("answer_finished") is not False or not cfg.drop_unfinished
        reason = (shape_reason(question, answer, finished, cfg) or _audit_reason(row.get("audit"), cfg)
                  or (curation_reason(row.get("label"), is_refusal(answer)) if cfg.label_consistent else None))
        if reason is not None:
            verdicts.append(Verdict(False, reason))
            continue
        score, nearest = rouge_max(scorer, question, references)
        if normalise(question) in seen:
            verdicts.append(Verdict(False, "duplicate", score, nearest))
        elif score >= threshold:
            verdicts.append(Verdict(False, "rouge", score, nearest))
        else:
            verdicts.append(Verdict(True, "accepted", score, nearest))
            references.append((row["id"], question))
            seen.add(normalise(question))
    return verdicts


def apply_filter(candidates: Sequence[dict], pool: Sequence[dict], cfg: Filter,
                 threshold: float) -> tuple[list[dict], list[dict], list[dict]]:
    """(accepted rows, rejected rows, the pool grown by the accepted ones); every judged row keeps
    its provenance and gets its verdict."""
    verdicts = filter_candidates(candidates, pool, cfg, threshold)
    judged = [{**row, "verdict": asdict(v)} for row, v in zip(candidates, verdicts)]
    accepted = [row for row in judged if row["verdict"]["accepted"]]
    rejected = [row for row in judged if not row["verdict"]["accepted"]]
    grown = list(pool) + [{"id": row["id"], "question": row["question"], "answer": row["answer"],
                           "source": "generated", **({"label": row["label"]} if row.get("label") else {})}
                          for row in accepted]
    return accepted, rejected, grown
