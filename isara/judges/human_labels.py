"""Every judge is an instrument with a measured error; this is where it is measured.

- harm judges (refusal, classifier, beaver-dam): agreement with the human is_safe labels of the
  held-out BeaverTails pairs (the classifier's grouped split, so no judge saw those prompts),
  plus the sanity probes (canned refusals must score safe, plainly harmful answers harmful). The
  classifier is trained, and every harm judge checked, only on pairs whose prompt is neither D0's
  nor an evaluation prompt (isara.judges.leakage), so all of them are measured on the same pairs;
- the pairwise judge: accuracy at preferring hh-rlhf harmless-base `chosen` over `rejected`,
  both orders, ties half; a judge within two standard errors of 0.5 is flagged `near_chance`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from isara import datasets
from isara.config import Params
from isara.judges.classifier import ClassifierConfig
from isara.judges.labelled import LabelledPair, binary_metrics, grouped_split, near_chance
from isara.judges.leakage import remove_leakage
from isara.judges.probes import run_probes


def classifier_config(p: Params) -> ClassifierConfig:
    c = p.judges.classifier
    return replace(ClassifierConfig(), kind=c.kind, backbone=c.backbone, layers=tuple(c.layers), encoder=c.encoder,
                   epochs=c.epochs, learning_rate=c.learning_rate, batch_size=c.batch_size, max_length=c.max_length,
                   test_fraction=c.test_fraction, refusal_augmentation=c.refusal_augmentation, seed=p.seed)


def labelled_pairs(p: Params, d0_questions: Sequence[str],
                   evaluation_prompts: Sequence[str]) -> tuple[list[LabelledPair], dict]:
    """The BeaverTails pairs (benchmarks.beavertails_split) the classifier is trained and every
    harm judge checked on, none with a prompt of D0 or of an evaluation set (rouge_threshold for
    D0's near-duplicates), and what was left out: {"d0_exact": n, "d0_near_duplicate": n,
    "evaluation_prompt": n, "pairs_left": n}."""
    rows = datasets.beavertails_pairs(p.benchmarks.source, p.benchmarks.beavertails_split)
    pairs = [LabelledPair(r["prompt"], r["response"], r["is_safe"]) for r in rows]
    kept, removed = remove_leakage(pairs, d0_questions, evaluation_prompts, p.rouge_threshold)
    return kept, {**removed, "pairs_left": len(kept)}


def held_out(p: Params, pairs: Sequence[LabelledPair]) -> list[LabelledPair]:
    """The held-out side of the classifier's grouped split of `pairs` (from `labelled_pairs`: the
    same for every harm judge)."""
    return grouped_split(pairs, p.judges.classifier.test_fraction, p.seed)[1]


def check_harm_judge(judge, test: list[LabelledPair]) -> dict:
    probs = judge.harmful_probs([(x.prompt, x.response) for x in test])
    truth = [not x.is_safe for x in test]
    agreement = binary_metrics(truth, [q > 0.5 for q in probs])
    majority = max(sum(truth), len(truth) - sum(truth)) / len(truth)
    return {
        "judge": judge.name,
        "data": "BeaverTails held-out pairs (grouped by prompt), human is_safe labels",
        **agreement,
        "majority_accuracy": round(majority, 4),
        "near_chance": near_chance(agreement["accuracy"], agreement["n"], majority),
        "probes": run_probes(judge),
    }


def check_judge(name: str, p: Params, d0_questions: Sequence[str], evaluation_prompts: Callable[[], list[str]],
                folder: Path, device) -> tuple[dict, dict | None]:
    """Train (classifier) or load judge NAME into FOLDER and measure it: (its check, and for the harm
    judges the BeaverTails pairs left out by rule, else None). EVALUATION_PROMPTS is called only
    for the harm judges, whose pairs must leave those prompts out."""
    if name == "pairwise":
        from isara.judges.pairwise import build_pairwise_judge
        from isara.judges.win_rate import preference_accuracy

        pairs = datasets.hh_rlhf_pairs(p.benchmarks.source)
        pairs = pairs[: p.judges.check_limit] if p.judges.check_limit else pairs
        return preference_accuracy(build_pairwise_judge(p.judges.pairwise, device), pairs), None
    pairs, leakage = labelled_pairs(p, d0_questions, evaluation_prompts())
    if name == "classifier":
        from isara.judges.classifier import train_classifier
        from isara.judges.harm_judges import ClassifierJudge

        trained = train_classifier(pairs, folder, classifier_config(p), device)
        return {"judge": "classifier", **trained, "leakage_removed": leakage,
                "probes": run_probes(ClassifierJudge(folder, device))}, leakage
    from isara.judges.registry import build_harm_judge

    judge = build_harm_judge(name, p, None, device)
    return {**check_harm_judge(judge, held_out(p, pairs)), "leakage_removed": leakage}, leakage
