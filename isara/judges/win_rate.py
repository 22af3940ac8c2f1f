"""Win rates and judge accuracy from any pairwise judge (isara.judges.pairwise).

Each pair is judged in both orders to cancel position bias; identical outputs tie without asking
the judge; verdicts are cached on disk by (judge name, instruction, both outputs).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

from isara.errors import IsaraError
from isara.judges.judge_cache import JudgeCache
from isara.judges.pairwise import PairwiseJudge

TIE_TOLERANCE = 1e-9


def _judged(judge: PairwiseJudge, cache: JudgeCache | None, instruction: str, a: str, b: str) -> float:
    if cache is not None:
        hit = cache.get(judge.name, instruction, a, b)
        if hit is not None:
            return hit
    preference = judge.prefer(instruction, a, b)
    try:
        preference = float(preference)
    except (TypeError, ValueError):
        raise IsaraError(f"judge {judge.name} returned {preference!r}, not a probability") from None
    if not 0.0 <= preference <= 1.0:  # also refuses NaN
        raise IsaraError(f"judge {judge.name} returned {preference}, not a probability in [0, 1]")
    if cache is not None:
        cache.put(judge.name, instruction, a, b, preference)
    return preference


def both_orders(judge: PairwiseJudge, instruction: str, first: str, second: str,
                cache: JudgeCache | None = None) -> float:
    """p(first is better) = (prefer(first, second) + 1 - prefer(second, first)) / 2; 0.5 without
    asking the judge when the two outputs are identical."""
    if first == second:
        return 0.5
    forward = _judged(judge, cache, instruction, first, second)
    backward = _judged(judge, cache, instruction, second, first)
    return (forward + 1.0 - backward) / 2.0


def outcome(p: float) -> float:
    """1.0 (win) when p > 0.5, 0.5 (tie) when p == 0.5 within TIE_TOLERANCE, else 0.0."""
    if abs(p - 0.5) <= TIE_TOLERANCE:
        return 0.5
    return 1.0 if p > 0.5 else 0.0


def _open_cache(cache: JudgeCache | str | Path | None) -> tuple[JudgeCache | None, bool]:
    if cache is None or isinstance(cache, JudgeCache):
        return cache, False
    return JudgeCache(cache), True


def length_controlled(scores: Sequence[float], output_chars: Sequence[int], reference_chars: Sequence[int],
                      seed: int = 0, resamples: int = 200) -> dict:
    """AlpacaEval 2's length-controlled win rate, for one method's pairs.

    A logistic regression of each pair's outcome (1 win, 0.5 tie as a soft label, 0 loss) on
    tanh(length difference / its standard deviation), the difference in characters, output minus
    reference, with the method's own intercept; the length-controlled win rate is the win rate it
    predicts at zero length difference, sigmoid(intercept). alpaca_eval also fits an instruction-
    difficulty term across the many models of its leaderboard: one method's pairs cannot fit it, so
    it is left out. The slope has sklearn's default L2 strength (C=1), the intercept none. Returns
    the rate and a bootstrap 95% interval over pairs (`resamples` refits, seeded)."""
    import numpy as np

    from isara.stats import interval, percentile_interval

    y = np.asarray(scores, dtype=float)
    delta = np.asarray(output_chars, dtype=float) - np.asarray(reference_chars, dtype=float)

    def fit(index: np.ndarray) -> float:
        from sklearn.linear_model import LogisticRegression

        target, d = y[index], delta[index]
        if np.all(target == target[0]) or d.std() == 0:  # nothing to separate: the plain rate
            return float(target.mean())
        x = np.tanh(d / d.std())[:, None]
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(np.concatenate([x, x]), np.r_[np.ones(len(x)), np.zeros(len(x))],
                  sample_weight=np.r_[target, 1.0 - target])
        return float(1.0 / (1.0 + np.exp(-model.intercept_[0])))

    rng = np.random.default_rng(seed)
    everything = np.arange(len(y))
    rate = fit(everything)
    draws = np.array([fit(rng.integers(0, len(y), len(y))) for _ in range(resamples)])
    return {"length_controlled_winrate": rate,
            "length_controlled_ci95": interval(percentile_interval(draws) if len(y) > 1 else (rate, rate))}


def _mean_words(texts: Sequence[str]) -> float:
    return sum(len(text.split()) for text in texts) / len(texts)


def _progress(items, desc: str):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="pair")


def win_rate(
    judge: PairwiseJudge,
    instructions: Sequence[str],
    outputs: Sequence[str],
    references: Sequence[str],
    cache: JudgeCache | str | Path | None = None,
) -> dict:
    """Win rate of `outputs` against `references`, each pair judged in both orders.

    Returns win_rate = (wins + 0.5 * ties) / n, its standard_error and bootstrap ci95 over the pairs,
    n, wins, ties, losses, judge (its name), the length-controlled win rate with its interval
    (`length_controlled`: judges are known to favour longer outputs), and the mean word counts of
    outputs and references.
    `cache`: a JudgeCache or a folder for one; verdicts found there are not asked again.
    """
    instructions, outputs, references = list(instructions), list(outputs), list(references)
    if not (len(instructions) == len(outputs) == len(references)):
        raise IsaraError(
            f"win_rate: {len(instructions)} instructions, {len(outputs)} outputs and "
            f"{len(references)} references; they must pair up one to one"
        )
    if not instructions:
        raise IsaraError("win_rate: no pairs to judge")
    for what, texts in (("instructions", instructions), ("outputs", outputs), ("references", references)):
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise IsaraError(f"win_rate: {what}[{index}] is {type(text).__name__}, not a string")
    store, opened = _open_cache(cache)
    try:
        scores = [
            outcome(both_orders(judge, instruction, output, reference, store))
            for instruction, output, reference in _progress(
                list(zip(instructions, outputs, references)), f"judge {judge.name}"
            )
        ]
    finally:
        if opened:
            store.close()
    wins, ties = scores.count(1.0), scores.count(0.5)
    n = len(scores)
    from isara.stats import bootstrap_mean, interval, standard_error

    return {
        "win_rate": (wins + 0.5 * ties) / n,
        "standard_error": standard_error(scores),  # as alpaca_eval reports it: over the per-pair outcomes
        "ci95": interval(bootstrap_mean(scores, seed=0)),
        "n": n,
        "wins": wins,
        "ties": ties,
        "losses": n - wins - ties,
        "judge": judge.name,
        **length_controlled(scores, [len(o) for o in outputs], [len(r) for r in references]),
        "mean_output_words": _mean_words(outputs),
        "mean_reference_words": _mean_words(references),
    }


def preference_accuracy(
    judge: PairwiseJudge,
    pairs: Sequence[Mapping[str, str]],
    cache: JudgeCache | str | Path | None = None,
) -> dict:
    """How often the judge prefers `chosen` over `rejected` on [{"prompt", "chosen", "rejected"}].

    Each pair is judged in both orders, as in `win_rate`; a tie counts 0.5. Returns accuracy, n,
    correct, ties, wrong, judge, chance (0.5), standard_error (of the accuracy: sample standard
    deviation of the per-pair scores over sqrt(n); 0.0 for one pair), chance_standard_error (that
    of a judge at chance, 0.5 / sqrt(n), the binomial bound) and near_chance: whether the accuracy
    lies within 2 chance standard errors of 0.5, i.e. is not significantly better or worse than a
    coin (about 5% level).
    """
    pairs = list(pairs)
    if not pairs:
        raise IsaraError("preference_accuracy: no pairs to judge")
    for index, pair in enumerate(pairs):
        if not isinstance(pair, Mapping):
            raise IsaraError(f"preference_accuracy: pair {index} is {type(pair).__name__}, not a mapping")
        for key in ("prompt", "chosen", "rejected"):
            if not isinstance(pair.get(key), str):
                raise IsaraError(f"preference_accuracy: pair {index} has no string '{key}'")
    store, opened = _open_cache(cache)
    try:
        scores = [
            outcome(both_orders(judge, pair["prompt"], pair["chosen"], pair["rejected"], store))
            for pair in _progress(pairs, f"judge {judge.name}")
        ]
    finally:
        if opened:
            store.close()
    n = len(scores)
    accuracy = sum(scores) / n
    if n > 1:
        variance = sum((score - accuracy) ** 2 for score in scores) / (n - 1)
        standard_error = math.sqrt(variance / n)
    else:
        standard_error = 0.0
    chance_standard_error = 0.5 / math.sqrt(n)
    correct, ties = scores.count(1.0), scores.count(0.5)
    return {
        "accuracy": accuracy,
        "n": n,
        "correct": correct,
        "ties": ties,
        "wrong": n - correct - ties,
        "judge": judge.name,
        "chance": 0.5,
        "standard_error": standard_error,
        "chance_standard_error": chance_standard_error,
        "near_chance": abs(accuracy - 0.5) <= 2.0 * chance_standard_error,
    }
