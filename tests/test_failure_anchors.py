"""Anchors on failures: the labels and categories the previous model failed on the dev split get
more of a round's question anchors; a model that fails nothing keeps the shares as set."""

import numpy as np
import pytest

from isara.config import load_params
from isara.errors import IsaraError
from isara.loop.failures import allocate, failure_weights, weight_of, weighted_safe_share
from isara.loop.retrieve import question_contexts
from isara.retrieval import Retriever, exact_search


def dev(label: str, category: str, refused: bool, n: int = 1) -> list[dict]:
    return [{"prompt": f"{label} {category} {refused} {i}", "label": label, "category": category, "refused": refused}
            for i in range(n)]


def test_weights_are_one_plus_the_failure_rate():
    rows = dev("harmful", "theft", False, 3) + dev("harmful", "theft", True) + dev("harmful", "fraud", True, 4)
    rows += dev("safe", "homonyms", True) + dev("safe", "homonyms", False, 3)
    w = failure_weights(rows)
    assert w[("harmful", "theft")] == 1.75 and w[("harmful", "fraud")] == 1.0 and w[("harmful", "*")] == 1.375
    assert w[("safe", "homonyms")] == 1.25 and w[("safe", "*")] == 1.25
    assert weight_of(w, "harmful", "unseen") == 1.375 and weight_of(w, "safe", None) == 1.25  # the label's own
    assert weight_of({}, "safe", "x") == 1.0


def test_the_safe_share_leans_to_the_label_that_failed_more():
    assert weighted_safe_share(0.5, {("safe", "*"): 1.0, ("harmful", "*"): 1.0}) == 0.5
    assert weighted_safe_share(0.5, {("safe", "*"): 1.5, ("harmful", "*"): 1.0}) == 0.6
    assert weighted_safe_share(0.5, {}) == 0.5


def test_allocate_splits_a_count_in_proportion():
    assert allocate(10, {"a": 1, "b": 1}) == {"a": 5, "b": 5}
    assert allocate(10, {"a": 3, "b": 1}) == {"a": 8, "b": 2}  # 7.5 / 2.5: the tie goes to the first name
    assert sum(allocate(7, {"a": 1, "b": 1, "c": 1}).values()) == 7
    assert allocate(3, {"a": 0}) == {"a": 0}


def pool() -> list[dict]:
    rows = [{"id": f"h{i}", "question": "q", "answer": "a", "label": "harmful",
             "category": "theft" if i < 10 else "fraud"} for i in range(20)]
    return rows + [{"id": f"s{i}", "question": "q", "answer": "a", "label": "safe", "category": "homonyms"}
                   for i in range(20)]


def test_anchors_follow_the_failures():
    items = pool()
    vectors = np.random.default_rng(0).normal(size=(len(items), 8)).astype("float32")
    retriever = Retriever(vectors, exact_search(len(items), 3))
    by_id = {row["id"]: row for row in items}
    weights = failure_weights(dev("harmful", "theft", False, 4) + dev("harmful", "fraud", True, 4)
                              + dev("safe", "homonyms", True, 1) + dev("safe", "homonyms", False, 3))
    contexts = question_contexts(retriever, items, 40, 3, 1, 0, 0.5, weights)
    anchors = [by_id[c["anchor_id"]] for c in contexts]
    harmful = [a for a in anchors if a["label"] == "harmful"]
    # harmful weighs 1.5, safe 1.25: 0.5 x 1.25 / (0.5 x 1.25 + 0.5 x 1.5) of 40 anchors are safe
    assert len(anchors) - len(harmful) == 18
    # within harmful, theft (every dev prompt answered: weight 2) gets twice fraud's anchors
    assert sum(a["category"] == "theft" for a in harmful) == 15 and sum(a["category"] == "fraud" for a in harmful) == 7
    assert all(by_id[i]["label"] == by_id[c["anchor_id"]]["label"] for c in contexts for i in c["context_ids"])
    assert question_contexts(retriever, items, 40, 3, 1, 0, 0.5, weights) == contexts  # reproducible


def test_failure_anchors_need_the_prev_models_dev_answers(tmp_path):
    base = (tmp_path / "params.yaml")
    text = open("params.yaml").read().replace("  anchors: uniform ", "  anchors: failures")
    base.write_text(text)
    assert load_params(base).generation.anchors == "failures"
    base.write_text(text.replace("iter1: {prompting: zero_shot, dev: true}", "iter1: {prompting: zero_shot}"))
    with pytest.raises(IsaraError, match="runs.iter2.prev: methods.iter1 needs dev: true"):
        load_params(base)
    base.write_text(text.replace("suites: [harm, xstest, dev]", "suites: [harm, xstest]"))
    with pytest.raises(IsaraError, match="needs generation.by_label, data.dev_file and dev in evaluate.suites"):
        load_params(base)


def test_the_dev_answers_file_is_checked(tmp_path):
    from isara.loop.failures import load_failure_weights

    path = tmp_path / "dev.jsonl"
    path.write_text("")
    with pytest.raises(IsaraError, match="no dev answers"):
        load_failure_weights(path)
    path.write_text('{"label": "harmful", "refused": "no"}\n')
    with pytest.raises(IsaraError, match="row 1 is not a dev answer"):
        load_failure_weights(path)
    path.write_text('{"label": "harmful", "category": "theft", "refused": false}\n')
    assert load_failure_weights(path) == {("harmful", "*"): 2.0, ("harmful", "theft"): 2.0}
