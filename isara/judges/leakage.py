"""Keep the classifier judge's labelled pairs apart from D0 and from the evaluation sets.

In the safety profile D0 is drawn from the same BeaverTails split the classifier judge learns from,
so a judge trained on the whole split has seen D0's answers labelled safe; and an evaluation prompt
in its data would let it recall a label instead of reading the answer. A labelled pair is left out
when its prompt, by these rules in this order (a pair counts for the first that matches only):

  d0_exact            is a D0 question (isara.text.normalise equality: case, punctuation, spacing)
  d0_near_duplicate   has ROUGE-L F >= rouge_threshold against a D0 question (the filter's scorer,
                      isara.text.new_scorer: the same test that keeps near-duplicates out of the pool)
  evaluation_prompt   is a prompt of an evaluation set the run measures (normalised equality)

Pure: no files, no params. isara.judges.human_labels gathers D0's questions and the evaluation prompts.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from rouge_score.tokenizers import DefaultTokenizer

from isara.text import new_scorer, normalise, rouge_max

RULES = ("d0_exact", "d0_near_duplicate", "evaluation_prompt")
_SLACK = 1e-9  # the bound and rouge-score's F are the same number computed two ways: round in the bound's favour


def near_duplicates(texts: Iterable[str], references: Iterable[str], threshold: float) -> set[str]:
    """The `texts` whose ROUGE-L F against some reference is >= `threshold`.

    Only pairs that can reach the threshold are scored. ROUGE-L F is 2 * LCS / (|a| + |b|) over
    rouge-score's tokens, and the LCS is no longer than the tokens the two texts share (counted as
    multisets), so 2 * shared / (|a| + |b|) bounds it from above; a pair whose bound falls short is
    not scored. The bound counts stemmed tokens: stemming only merges tokens, so it holds whether
    or not the scorer stems. Each distinct text and reference is read once.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    tokenizer = DefaultTokenizer(use_stemmer=True)
    refs = []
    for ref in dict.fromkeys(references):
        counts = Counter(tokenizer.tokenize(ref))
        if counts:
            refs.append((ref, counts, sum(counts.values())))
    if not refs:
        return set()
    scorer = new_scorer()
    found = set()
    for text in dict.fromkeys(texts):
        counts = Counter(tokenizer.tokenize(text))
        size = sum(counts.values())
        reachable = [(ref, ref) for ref, ref_counts, ref_size in refs
                     if 2 * sum((counts & ref_counts).values()) >= (threshold - _SLACK) * (size + ref_size)]
        if reachable and rouge_max(scorer, text, reachable)[0] >= threshold:
            found.add(text)
    return found


def remove_leakage(pairs: Sequence, d0_questions: Iterable[str], evaluation_prompts: Iterable[str],
                   threshold: float) -> tuple[list, dict[str, int]]:
    """(the pairs kept, in their order; how many pairs each rule removed, keyed as RULES).

    Items are anything whose first element is the prompt (LabelledPair, tuples). Prompts are
    compared as normalised text, each distinct one once; `threshold` is params' rouge_threshold.
    """
    d0 = {normalise(q) for q in d0_questions} - {""}
    evaluation = {normalise(q) for q in evaluation_prompts} - {""}
    keys = [normalise(pair[0]) for pair in pairs]
    near = near_duplicates((key for key in keys if key and key not in d0), d0, threshold)
    removed = dict.fromkeys(RULES, 0)
    kept = []
    for pair, key in zip(pairs, keys):
        rule = ("d0_exact" if key in d0 else "d0_near_duplicate" if key in near
                else "evaluation_prompt" if key in evaluation else None)
        if rule is None:
            kept.append(pair)
        else:
            removed[rule] += 1
    return kept, removed
