"""The filter's content gates: a generated answer is kept only when it agrees with (consistency) or
beats (pairwise) what the round's starting model answers on its own; drops are counted by gate."""

from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from isara.atomic import write_jsonl
from isara.config import load_params
from isara.config.data import Filter
from isara.errors import IsaraError
from isara.loop.filter import apply_filter
from isara.loop.filter_metrics import filter_metrics
from isara.loop.gate import cosines, gate_audit, gate_reason
from isara.records import read_jsonl
from isara.text import words
from tests.conftest import set_params

VOCAB = ["fridge", "hours", "two", "room", "temperature", "months", "store", "chicken", "cold", "within"]


def bag_of_words(texts: list[str]) -> np.ndarray:
    """Word counts over VOCAB: an embedding whose cosine is plain word overlap."""
    return np.array([[words(text).count(word) for word in VOCAB] for text in texts], dtype=np.float32)


QUESTION = "How long can cooked chicken stay out before it goes in the fridge?"
RIGHT = "Put cooked chicken in the fridge within two hours; cold storage keeps it safe."
WRONG = "Chicken can stay at room temperature for two to three months."
OWN = "Store cooked chicken in the fridge within two hours."


def test_consistency_is_the_cosine_of_the_two_answers():
    rows = gate_audit([QUESTION, QUESTION], [RIGHT, WRONG], [OWN, OWN], ("consistency",), bag_of_words)
    expected = cosines(bag_of_words([RIGHT, WRONG]), bag_of_words([OWN, OWN]))
    assert [row["consistency"] for row in rows] == [round(float(v), 4) for v in expected]
    assert rows[0]["consistency"] > 0.8 > 0.4 > rows[1]["consistency"]
    assert all(row["own_answer"] == OWN and "judges" not in row for row in rows)
    assert cosines(np.zeros((1, 3)), np.ones((1, 3))).tolist() == [0.0]


def test_the_pairwise_gate_asks_the_judge_about_the_pair_against_the_own_answer():
    asked = []

    def prefer(question, answer, own):
        asked.append((question, answer, own))
        return 0.9 if answer == RIGHT else 0.1

    rows = gate_audit([QUESTION, QUESTION], [RIGHT, WRONG], [OWN, OWN], ("pairwise",), bag_of_words, prefer)
    assert [row["judges"]["pairwise"] for row in rows] == [0.9, 0.1]
    assert asked == [(QUESTION, RIGHT, OWN), (QUESTION, WRONG, OWN)] and "consistency" not in rows[0]
    with pytest.raises(ValueError):
        gate_audit([QUESTION], [RIGHT], [OWN], ("pairwise",), bag_of_words)


def test_gate_reasons_follow_only_the_selected_gates():
    audit = {"own_answer": OWN, "consistency": 0.3, "judges": {"pairwise": 0.25}}
    assert gate_reason(audit, ("consistency", "pairwise"), 0.5) == "inconsistent"
    assert gate_reason(audit, ("pairwise",), 0.5) == "judge_prefers_own"
    assert gate_reason(audit, ("consistency",), 0.2) is None
    assert gate_reason(audit, (), 0.9) is None
    assert gate_reason({**audit, "judges": {"pairwise": 0.5}}, ("pairwise",), 0.5) is None  # a tie keeps it
    assert gate_reason(None, ("consistency", "pairwise"), 0.5) is None  # not asked (ill-formed): no verdict


def _candidates(gates):
    answers = [RIGHT, WRONG, "Too short."]
    updates = gate_audit([QUESTION] * 2, answers[:2], [OWN, OWN], gates, bag_of_words,
                         lambda q, a, o: 0.8 if a == RIGHT else 0.3)
    questions = [QUESTION, "How many months can raw chicken stay at room temperature?", "What about fish kept cold?"]
    return [{"id": f"it1-{n}", "question": q, "answer": a, "answer_finished": True,
             "audit": {"id": f"it1-{n}", **(updates[n] if n < 2 else {})}}
            for n, (q, a) in enumerate(zip(questions, answers))]


@pytest.mark.parametrize("gates, reason", [(("consistency",), "inconsistent"), (("pairwise",), "judge_prefers_own")])
def test_the_filter_drops_what_a_gate_fails_and_counts_it(gates, reason):
    cfg = replace(Filter(), judges=gates, min_consistency=0.5)
    rows = _candidates(gates)
    kept, dropped, pool = apply_filter(rows, [], cfg, 0.7)
    assert [row["id"] for row in kept] == ["it1-0"]
    assert [(row["id"], row["verdict"]["reason"]) for row in dropped] == [("it1-1", reason), ("it1-2", "answer_too_short")]
    judged = kept + sorted(dropped, key=lambda row: row["id"])
    metrics = filter_metrics(judged, np.eye(3, 4), np.eye(2, 4), None, cfg)
    assert metrics["gate"]["asked"] == 2 and metrics["gate"]["failed"] == {gates[0]: 1}
    assert metrics["reasons"] == {"accepted": 1, reason: 1, "answer_too_short": 1}
    off = apply_filter(rows, [], Filter(), 0.7)  # the same audit, no gate selected: both well-formed pairs stay
    assert len(off[0]) == 2 and "gate" not in filter_metrics(judged, np.eye(3, 4), np.eye(2, 4), None, Filter())


def test_gates_are_validated_and_pairwise_needs_its_measured_accuracy(project):
    set_params(project / "params.yaml", {"filter.judges": ["consistency"], "filter.min_consistency": 0.4})
    assert load_params().filter.judges == ("consistency",)
    set_params(project / "params.yaml", {"filter.judges": ["pairwise"]})
    with pytest.raises(IsaraError, match="judges.check must list it"):
        load_params()
    set_params(project / "params.yaml", {"filter.judges": ["consistent"]})
    with pytest.raises(IsaraError, match="filter.judges"):
        load_params()
    set_params(project / "params.yaml", {"filter.judges": [], "filter.min_consistency": 1.5})
    with pytest.raises(IsaraError, match="filter.min_consistency"):
        load_params()


def test_stage_audit_writes_the_starting_models_own_answers_for_the_gates(project, tiny_opt):
    """A tiny real model answers again; its own answer copied in as the pair's answer is consistent
    (cosine 1) and ties with itself (the judge is not asked), so the filter keeps it."""
    from stages import audit as audit_stage

    set_params(project / "params.yaml", {
        "filter.judges": ["consistency", "pairwise"], "judges.check": ["pairwise"],
        "judges.pairwise.model": str(tiny_opt), "generation.answer.max_new_tokens": 12,
        "filter.min_answer_words": 1, "filter.max_ngram_repeats": 50,  # a random model's answer loops
        "evaluate.suites": ["harm"], "evaluate.harm_sets": ["demo"], "model.device": "cpu"})
    (project / "work").mkdir()
    seed = [{"id": f"seed-{n}", "question": f"How do I store {food} safely at home?", "answer": "Keep it cold.",
             "source": "seed"} for n, food in enumerate(["rice", "soup", "bread"])]
    cands = [{"id": "it1-0", "question": QUESTION, "answer": RIGHT, "answer_finished": True},
             {"id": "it1-1", "question": "Why?", "answer": RIGHT, "answer_finished": True}]  # too short: not asked

    def run():
        for name, rows in (("pool", seed), ("candidates", cands)):
            write_jsonl(project / "work" / f"{name}.jsonl", rows)
        result = CliRunner().invoke(audit_stage.main, [
            "--seed", "work/pool.jsonl", "--candidates", "work/candidates.jsonl", "--model", str(tiny_opt),
            "--out", "work/audit.jsonl", "--embeddings", "work/emb.npz"])
        assert result.exit_code == 0, result.output
        return read_jsonl(project / "work" / "audit.jsonl")

    audit = run()
    assert "own_answer" not in audit[1] and "consistency" not in audit[1]
    own = audit[0]["own_answer"]
    assert isinstance(own, str) and -1.0 <= audit[0]["consistency"] <= 1.0
    assert 0.0 <= audit[0]["judges"]["pairwise"] <= 1.0
    assert words(own), f"the tiny model's own answer has no words: {own!r}"
    cands[0]["answer"] = own
    again = run()[0]
    assert again["own_answer"] == own  # greedy: the same own answer
    assert again["consistency"] == pytest.approx(1.0, abs=1e-3) and again["judges"]["pairwise"] == 0.5


def test_the_threshold_is_chosen_for_the_quality_it_keeps_not_for_dropping_more():
    from isara.loop.gate import choose_min_consistency, threshold_table

    consistency = [0.9, 0.8, 0.7, 0.4, 0.2, 0.1]
    quality = [0.8, 0.7, 0.7, 0.3, 0.2, 0.6]  # low consistency mostly means a worse answer
    table = threshold_table(consistency, quality, [0.0, 0.3, 0.5, 0.75])
    assert [(row["threshold"], row["kept"]) for row in table] == [(0.0, 6), (0.3, 4), (0.5, 3), (0.75, 2)]
    assert table[2]["quality_kept"] == pytest.approx(0.7333, abs=1e-4)
    assert table[2]["quality_dropped"] == pytest.approx(0.3667, abs=1e-4)
    assert choose_min_consistency(table) == 0.5  # 0.75 would keep only a third
    assert choose_min_consistency(table, min_kept=0.3) == 0.75
    unrelated = threshold_table(consistency, [0.5, 0.4, 0.3, 0.5, 0.6, 0.7], [0.0, 0.3, 0.5])
    assert choose_min_consistency(unrelated) is None  # dropping does not raise the kept answers' quality: off
    assert choose_min_consistency([]) is None
