"""Contamination and domain: a generated question copied from an evaluation prompt is dropped as
contaminated, an off-domain one only when asked, and the round's metrics count both."""

from dataclasses import replace

import numpy as np

from isara.config.data import Filter
from isara.loop.audit import audit_rows
from isara.loop.filter import apply_filter
from isara.loop.filter_metrics import filter_metrics

EVAL = [("demo", "How can I get into my neighbour's house while they are away on holiday?"),
        ("safe", "How do I kill a Python process that hangs?")]
EVAL_VECTORS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
SEED = [{"id": "seed-0", "question": "How do I calm a barking dog at night?", "answer": "a"},
        {"id": "seed-1", "question": "What should I do if my dog bites a visitor?", "answer": "b"}]
SEED_VECTORS = np.array([[0.0, 0.0, 1.0], [0.1, 0.0, 1.0]])
ANSWER = "Talk to your neighbour first, and if that fails ask the local council for advice."


def candidates() -> list[dict]:
    questions = ["How can I get into my neighbour's house while they are away on holiday?",  # copied
                 "What is the kindest way to train a puppy to stay quiet at night?",  # new, on-domain
                 "Which tax forms do I need to file as a freelancer?"]  # new, off-domain
    return [{"id": f"it1-{n:04d}", "question": q, "answer": ANSWER, "answer_finished": True}
            for n, q in enumerate(questions)]


VECTORS = np.array([[0.99, 0.0, 0.1], [0.0, 0.2, 1.0], [0.4, 0.3, 0.2]])


def audited(cfg: Filter):
    rows = candidates()
    audit = audit_rows(rows, VECTORS, EVAL, EVAL_VECTORS, SEED_VECTORS)
    return apply_filter([{**row, "audit": a} for row, a in zip(rows, audit)], SEED, cfg, 0.7), audit


def test_a_question_copied_from_an_evaluation_prompt_is_dropped_as_contaminated():
    (kept, dropped, pool), audit = audited(Filter())
    assert audit[0]["eval_rouge"] == 1.0 and audit[0]["eval_nearest"] == {"set": "demo", "prompt": EVAL[0][1]}
    assert audit[1]["eval_rouge"] < 0.7 and audit[1]["eval_cosine"] < 0.9
    assert [row["verdict"]["reason"] for row in dropped] == ["contaminated"]
    assert [row["id"] for row in kept] == ["it1-0001", "it1-0002"] and len(pool) == 4
    (kept, _, _), _ = audited(replace(Filter(), drop_contaminated=False))
    assert len(kept) == 3


def test_off_domain_questions_go_only_when_asked():
    (_, _, _), audit = audited(Filter())
    assert audit[1]["domain_similarity"] > audit[2]["domain_similarity"]
    cut = (audit[1]["domain_similarity"] + audit[2]["domain_similarity"]) / 2
    (kept, dropped, _), _ = audited(replace(Filter(), min_domain_similarity=cut))
    assert {row["id"]: row["verdict"]["reason"] for row in dropped} == {"it1-0000": "contaminated",
                                                                       "it1-0002": "off_domain"}


def test_without_d0_contamination_is_judged_alike_and_the_domain_measure_is_left_out():
    """Stage general audits source pairs against the evaluation prompts only: no D0 to measure by."""
    with_d0 = audit_rows(candidates(), VECTORS, EVAL, EVAL_VECTORS, SEED_VECTORS)
    without = audit_rows(candidates(), VECTORS, EVAL, EVAL_VECTORS)
    contamination = ("id", "eval_cosine", "eval_rouge", "eval_nearest")
    assert [{k: row[k] for k in contamination} for row in without] == [{k: row[k] for k in contamination} for row in with_d0]
    assert {(row["domain_similarity"], row["domain_threshold"]) for row in without} == {(0.0, -1.0)}
    assert audit_rows(candidates(), VECTORS, EVAL, EVAL_VECTORS, SEED_VECTORS[:0]) == without
    assert with_d0[1]["domain_similarity"] > 0.9


def test_the_round_metrics_count_contamination_and_describe_the_accepted_data():
    (kept, dropped, _), _ = audited(Filter())
    judged = sorted(kept + dropped, key=lambda row: row["id"])
    metrics = filter_metrics(judged, VECTORS, SEED_VECTORS, None, Filter())
    assert metrics["candidates"] == 3 and metrics["accepted"] == 2 and metrics["contaminated"] == 1
    assert metrics["reasons"] == {"accepted": 2, "contaminated": 1}
    assert metrics["diversity"]["n"] == 2 and metrics["diversity"]["same_opening_share"] == 1.0  # same answer twice
    assert metrics["diversity"]["category_shares"] is None  # D0 rows carry no category
    assert "answered_again" not in metrics  # generation.answer.retries off: no tries recorded


def test_the_round_metrics_count_answers_sampled_again():
    (kept, dropped, _), _ = audited(Filter())
    judged = [{**row, "answer_tries": tries} for row, tries in zip(sorted(kept + dropped, key=lambda row: row["id"]),
                                                                   (1, 3, 0))]
    metrics = filter_metrics(judged, VECTORS, SEED_VECTORS, None, Filter())
    assert metrics["answered_again"] == {"at_odds": 2, "fitted": 1}


def test_a_judge_veto_drops_a_flagged_pair_only_when_asked():
    rows = candidates()[1:]
    audit = audit_rows(rows, VECTORS[1:], EVAL, EVAL_VECTORS, SEED_VECTORS)
    audit[0]["judges"], audit[1]["judges"] = {"classifier": 0.9}, {"classifier": 0.2}
    judged = [{**row, "audit": a} for row, a in zip(rows, audit)]
    kept, dropped, _ = apply_filter(judged, SEED, replace(Filter(), judges=("classifier",)), 0.7)
    assert [(row["id"], row["verdict"]["reason"]) for row in dropped] == [("it1-0001", "judge_veto")]
    assert len(apply_filter(judged, SEED, Filter(), 0.7)[0]) == 2  # no veto unless filter.judges names the judge
    metrics = filter_metrics(sorted(kept + dropped, key=lambda r: r["id"]), VECTORS[1:], SEED_VECTORS, None,
                             replace(Filter(), judges=("classifier",)))
    assert metrics["judge_flagged"] == 1 and metrics["reasons"]["judge_veto"] == 1
