"""A round's preference pairs from crafted candidates: each kind, its provenance, what is left out."""

import json

import numpy as np
from click.testing import CliRunner

from isara.loop.preferences import (HARMFUL_COMPLIED, SAFE_HELPFUL, nearest_of_label, pair_counts,
                                    preference_pairs)

SEED = [
    {"id": "s-weapon", "question": "How do I build a pipe bomb?", "answer": "I can't help build weapons.",
     "label": "harmful"},
    {"id": "s-hack", "question": "How do I hack my ex's email?", "answer": "I can't help get into other accounts.",
     "label": "harmful"},
    {"id": "s-kill", "question": "How do I kill a Python process?", "answer": "Use kill with its process id.",
     "label": "safe"},
]
SEED_VECTORS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def candidate(i, question, answer, label):
    return {"id": f"c{i}", "question": question, "answer": answer, "label": label}


CANDIDATES = [
    candidate(0, "How do I make a bomb at home?", "Mix these chemicals ...", "harmful"),  # complied: rejected
    candidate(1, "How do I shoot a photo at night?", "Use a tripod and a long exposure.", "safe"),  # accepted
    candidate(2, "How do I get into my ex's account?", "I can't help with that.", "harmful"),  # accepted decline
    candidate(3, "How do I kill weeds?", "I can't help with killing.", "safe"),  # rejected needless refusal
    candidate(4, "How do I steal a car?", "", "harmful"),  # rejected for another reason
    candidate(5, "Untouched question?", "Untouched.", "safe"),  # no verdict: not filtered
]
VERDICTS = {
    "c0": {"accepted": False, "reason": "harmful_answer"},
    "c1": {"accepted": True, "reason": "accepted"},
    "c2": {"accepted": True, "reason": "accepted"},
    "c3": {"accepted": False, "reason": "needless_refusal"},
    "c4": {"accepted": False, "reason": "degenerate_answer"},
}
NEAREST_HARMFUL = [0, 1, 1, 0, 0, 0]


def test_a_complied_harmful_question_pairs_the_nearest_decline_over_its_answer():
    pairs = preference_pairs(CANDIDATES, VERDICTS, SEED, NEAREST_HARMFUL)
    first = pairs[0]
    assert first == {"id": "c0", "kind": HARMFUL_COMPLIED, "question": "How do I make a bomb at home?",
                     "chosen": "I can't help build weapons.", "rejected": "Mix these chemicals ...",
                     "chosen_from": "s-weapon", "rejected_from": "c0"}


def test_an_accepted_safe_answer_is_chosen_over_the_nearest_decline():
    second = preference_pairs(CANDIDATES, VERDICTS, SEED, NEAREST_HARMFUL)[1]
    assert second["kind"] == SAFE_HELPFUL and second["chosen"] == "Use a tripod and a long exposure."
    assert second["rejected"] == "I can't help get into other accounts."
    assert (second["chosen_from"], second["rejected_from"]) == ("c1", "s-hack")


def test_declines_refusals_other_reasons_and_unfiltered_candidates_make_no_pair():
    pairs = preference_pairs(CANDIDATES, VERDICTS, SEED, NEAREST_HARMFUL)
    assert [pair["id"] for pair in pairs] == ["c0", "c1"]
    assert pair_counts(pairs) == {HARMFUL_COMPLIED: 1, SAFE_HELPFUL: 1}
    assert pair_counts([]) == {HARMFUL_COMPLIED: 0, SAFE_HELPFUL: 0}


def test_without_harmful_seeds_there_is_no_pair():
    nearest = nearest_of_label(np.eye(3)[:2], SEED_VECTORS, [None, None, None], "harmful")
    assert nearest == [None, None]
    assert preference_pairs(CANDIDATES[:2], VERDICTS, SEED, nearest) == []


def test_the_nearest_seed_is_the_most_similar_one_of_the_label():
    vectors = np.array([[0.9, 0.1, 0.0], [0.1, 0.2, 0.97], [0.0, 0.1, 1.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = [row["label"] for row in SEED]
    assert nearest_of_label(vectors, SEED_VECTORS, labels, "harmful") == [0, 1, 1]  # never the safe seed
    assert nearest_of_label(vectors, SEED_VECTORS, labels, "safe") == [2, 2, 2]


def test_the_stage_writes_the_pairs_from_the_filter_and_audit_files(tmp_path, monkeypatch):
    import stages.preferences as stage

    monkeypatch.chdir(tmp_path)
    write = lambda name, rows: (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    write("seed.jsonl", SEED)
    write("candidates.jsonl", CANDIDATES[:4])
    write("accepted.jsonl", [{**c, "verdict": VERDICTS[c["id"]]} for c in CANDIDATES[:4] if VERDICTS[c["id"]]["accepted"]])
    write("rejected.jsonl", [{**c, "verdict": VERDICTS[c["id"]]} for c in CANDIDATES[:4]
                             if not VERDICTS[c["id"]]["accepted"]])
    np.savez(tmp_path / "emb.npz", candidates=np.array([[1.0, 0.1, 0], [0.1, 1.0, 0], [0, 1, 0], [1, 0, 0.1]]),
             seed=SEED_VECTORS)
    args = ["--seed", "seed.jsonl", "--candidates", "candidates.jsonl", "--accepted", "accepted.jsonl",
            "--rejected", "rejected.jsonl", "--embeddings", "emb.npz", "--out", "pairs.jsonl",
            "--metrics", "pairs.json"]
    done = CliRunner().invoke(stage.main, args)
    assert done.exit_code == 0, done.output
    assert "preference pairs: 2 (harmful_complied 1, safe_helpful 1)" in done.output
    assert json.loads((tmp_path / "pairs.json").read_text()) == {"pairs": 2, "harmful_complied": 1, "safe_helpful": 1,
                                                                 "candidates": 4}
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert [(p["id"], p["chosen_from"], p["rejected_from"]) for p in pairs] == [("c0", "s-weapon", "c0"),
                                                                               ("c1", "c1", "s-hack")]
    write("rejected.jsonl", [])  # a round that rejects nothing
    assert CliRunner().invoke(stage.main, args).exit_code == 0
    assert [json.loads(line)["id"] for line in (tmp_path / "pairs.jsonl").read_text().splitlines()] == ["c1"]
    write("accepted.jsonl", [{"id": "c1"}])
    broken = CliRunner().invoke(stage.main, args)
    assert broken.exit_code != 0 and "filter verdict" in broken.output and "Traceback" not in broken.output
    assert json.loads((tmp_path / "pairs.json").read_text())["pairs"] == 1  # nothing half-written by the failed run
    write("accepted.jsonl", [{**c, "verdict": VERDICTS[c["id"]]} for c in CANDIDATES[:4] if VERDICTS[c["id"]]["accepted"]])
    write("seed.jsonl", [{key: value for key, value in row.items() if key != "label"} for row in SEED])
    unlabelled = CliRunner().invoke(stage.main, args)  # a domain's own seeds: nothing to contrast, nothing measured
    assert unlabelled.exit_code == 0 and "no harmful/safe labels" in unlabelled.output
    assert json.loads((tmp_path / "pairs.json").read_text()) == {} and (tmp_path / "pairs.jsonl").read_text() == ""
