"""filter_candidates: shape checks in order, duplicates, and ROUGE-L decisions equal rouge-score's."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from isara.loop.filter import filter_candidates
from isara.config.data import Filter

CFG = Filter()  # 4..60 question words, 8..250 answer words, 3-grams repeated at most 3 times
THRESHOLD = 0.7
ANSWER = "You should talk to a professional who can give you advice that fits your situation."

POOL = [
    {"id": "p0", "question": "How can I poison the neighbour's dog that barks all night?", "answer": ANSWER},
    {"id": "p1", "question": "What is the best way to cheat on my university exams?", "answer": ANSWER},
    {"id": "p2", "question": "How do I make a fake ID that passes a bouncer's check?", "answer": ANSWER},
    {"id": "p3", "question": "Can you help me write a threatening letter to my landlord?", "answer": ANSWER},
    {"id": "p4", "question": "Which plants in my garden are poisonous to cats and dogs?", "answer": ANSWER},
]

QUESTIONS = [
    # near-copies of pool questions
    "How can I poison my neighbour's dog that barks all night long?",
    "What is the best way to cheat on my college exams?",
    "How do I make a fake ID that passes the bouncer check?",
    "Could you help me write a threatening letter to my landlord?",
    "Which plants in the garden are poisonous to cats?",
    "How could I poison a neighbour's dog barking all night?",
    # fresh questions
    "How do I report a dangerous driver to the police?",
    "What should I do if I find a wallet on the street?",
    "Is it legal to record a phone call without consent?",
    "How can I calm down before a job interview?",
    "What are good ways to save money on groceries each month?",
    "How do I teach my child to ride a bicycle safely?",
    "Why do cats knock things off tables so often?",
    "Where can I learn basic first aid for free?",
    "How long should I rest after donating blood?",
    # near-copies of fresh questions above (each other)
    "How do I report a dangerous driver to the local police?",
    "What should I do if I find a lost wallet on the street?",
    "Is it legal to record a phone call without their consent?",
    "How can I calm myself down before a job interview?",
    "What are good ways to save money on groceries every month?",
    "How do I teach my kid to ride a bicycle safely?",
    # partial overlaps: some stay below the threshold
    "How do I make a birthday cake that passes for a bakery one?",
    "What is the best way to revise for my university exams?",
    "Which vegetables in my garden grow best in the shade?",
    "Can you help me write a thank-you letter to my landlord?",
    "How can I stop the neighbour's dog from barking all night?",
    "Why do dogs bark at the mail carrier every morning?",
    "Where can I learn to play the guitar online for free?",
    "How long should I boil an egg for a soft yolk?",
    "How long should I boil an egg for a runny yolk?",
]


def candidate(n: int, question: str, answer: str = ANSWER) -> dict:
    return {"id": f"c{n:02d}", "question": question, "answer": answer}


# rows that never reach the ROUGE check, or are duplicates, mixed in: they must not become references
OTHERS = [
    (3, "Why do cats knock things off tables so often?", "Too short."),  # answer_too_short
    (9, "how do i report a dangerous driver to the police", ANSWER),  # duplicate of an accepted one
    (20, "Where can I learn to play the guitar online for free?", ""),  # empty_answer
]


def test_rouge_decisions_match_rouge_score():
    questions = [(q, ANSWER) for q in QUESTIONS]
    for position, question, answer in OTHERS:
        questions.insert(position, (question, answer))
    candidates = [candidate(n, q, a) for n, (q, a) in enumerate(questions)]
    verdicts = filter_candidates(candidates, POOL, CFG, THRESHOLD)
    assert len(verdicts) == len(candidates)
    assert sorted(v.reason for v in verdicts if v.reason not in ("accepted", "rouge")) == [
        "answer_too_short", "duplicate", "empty_answer"
    ]

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    references = [(row["id"], row["question"]) for row in POOL]
    for row, verdict in zip(candidates, verdicts):
        if verdict.reason not in ("accepted", "rouge", "duplicate"):
            assert verdict.rouge is None and not verdict.accepted
            continue
        scores = {ref_id: scorer.score(ref, row["question"])["rougeL"].fmeasure for ref_id, ref in references}
        best = max(scores.values())
        assert verdict.rouge == pytest.approx(best), row["question"]
        assert scores[verdict.rouge_nearest] == pytest.approx(best)
        if verdict.reason == "duplicate":
            assert not verdict.accepted and best == pytest.approx(1.0)
            continue
        assert verdict.accepted == (best < THRESHOLD), (row["question"], best)
        if verdict.accepted:
            references.append((row["id"], row["question"]))

    reasons = [v.reason for v in verdicts]
    # the set exercises both outcomes, against the pool and against earlier accepted candidates
    assert reasons.count("accepted") >= 10 and reasons.count("rouge") >= 8
    assert any(v.reason == "rouge" and v.rouge_nearest.startswith("p") for v in verdicts)
    assert any(v.reason == "rouge" and v.rouge_nearest.startswith("c") for v in verdicts)


def test_two_near_identical_new_candidates_only_first_accepted():
    first = candidate(0, "How do I get my toddler to sleep through the night?")
    second = candidate(1, "How do I get my toddler to sleep through the whole night?")
    verdicts = filter_candidates([first, second], POOL, CFG, THRESHOLD)
    assert [v.reason for v in verdicts] == ["accepted", "rouge"]
    assert verdicts[1].rouge_nearest == "c00"
    assert verdicts[1].rouge >= THRESHOLD


def test_rejected_candidate_is_not_a_reference():
    # c00 is rejected against the pool; c01 is close to c00 but not to the pool: it must pass.
    near_pool = candidate(0, "How can I poison the neighbour's dog that barks all night long?")
    near_rejected = candidate(1, "How can I poison the neighbour's cat that meows all night long?")
    verdicts = filter_candidates([near_pool, near_rejected], POOL[:1], CFG, THRESHOLD)
    assert verdicts[0].reason == "rouge"
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    expected = scorer.score(POOL[0]["question"], near_rejected["question"])["rougeL"].fmeasure
    assert verdicts[1].rouge == pytest.approx(expected)
    assert verdicts[1].accepted == (expected < THRESHOLD)


def test_threshold_one_accepts_all_but_exact_matches():
    cands = [candidate(0, "How can I poison my neighbour's dog that barks all night long?")]
    assert filter_candidates(cands, POOL, CFG, 1.0)[0].accepted


@pytest.mark.parametrize(
    "question, answer, reason",
    [
        ("", ANSWER, "empty_question"),
        ("   \n ", ANSWER, "empty_question"),
        ("How do I fix a flat bicycle tyre?", "", "empty_answer"),
        ("How do I fix a flat bicycle tyre?", "  ", "empty_answer"),
        ("Fix tyre?", ANSWER, "question_too_short"),
        (" ".join(["word"] * 30 + ["other"] * 31) + "?", ANSWER, "question_too_long"),
        ("How do I fix a flat bicycle tyre?", "Use a patch kit.", "answer_too_short"),
        ("How do I fix a flat bicycle tyre?", " ".join(f"w{i}" for i in range(251)), "answer_too_long"),
        ("How do I fix a flat bicycle tyre?", "I can't I can't I can't I can't I can't help.", "degenerate_answer"),
        ("Why why why why why why why why why why?", ANSWER, "degenerate_question"),
        ("HOW can I poison the NEIGHBOUR'S dog -- that barks all night!!", ANSWER, "duplicate"),
        ("what is the best way to cheat on my university exams", ANSWER, "duplicate"),
    ],
)
def test_reasons(question, answer, reason):
    verdict = filter_candidates([candidate(0, question, answer)], POOL, CFG, THRESHOLD)[0]
    assert verdict.reason == reason
    assert verdict.accepted is False
    if reason == "duplicate":
        assert verdict.rouge == pytest.approx(1.0)
        assert verdict.rouge_nearest in {row["id"] for row in POOL}
    else:
        assert verdict.rouge is None and verdict.rouge_nearest is None


def test_missing_question_or_answer_fields():
    verdicts = filter_candidates(
        [{"id": "a", "answer": ANSWER}, {"id": "b", "question": "How do I fix a flat tyre?", "answer": None}],
        POOL, CFG, THRESHOLD,
    )
    assert [v.reason for v in verdicts] == ["empty_question", "empty_answer"]


def test_word_limits_are_inclusive():
    question = "How do I start?"  # exactly 4 words
    answer = "one two three four five six seven eight"  # exactly 8 words
    assert filter_candidates([candidate(0, question, answer)], POOL, CFG, THRESHOLD)[0].accepted


def test_duplicate_of_earlier_accepted_candidate():
    first = candidate(0, "How do I fix a flat bicycle tyre?")
    again = candidate(1, "how do I fix a flat bicycle tyre")
    verdicts = filter_candidates([first, again], POOL, CFG, THRESHOLD)
    assert [v.reason for v in verdicts] == ["accepted", "duplicate"]
    assert verdicts[1].rouge_nearest == "c00"


def test_degenerate_limit_is_more_than_max_repeats():
    question = "How do I fix a flat bicycle tyre?"
    three = "I can't I can't I can't do that for you, sorry friend."  # "i can t" three times: allowed
    four = "I can't I can't I can't I can't do that for you, sorry."  # four times: degenerate
    verdicts = filter_candidates([candidate(0, question, three), candidate(1, question + " Now?", four)], POOL, CFG, THRESHOLD)
    assert verdicts[0].reason == "accepted"
    assert verdicts[1].reason == "degenerate_answer"


def test_answers_cut_by_the_token_cap_are_dropped_unless_allowed():
    row = {"id": "c", "question": "How do I report a dangerous driver to the police?", "answer": ANSWER}
    cut = {**row, "answer_finished": False}
    assert filter_candidates([cut], POOL, CFG, THRESHOLD)[0].reason == "answer_unfinished"
    assert filter_candidates([{**row, "answer_finished": True}], POOL, CFG, THRESHOLD)[0].accepted
    lenient = Filter(drop_unfinished=False)
    assert filter_candidates([cut], POOL, lenient, THRESHOLD)[0].accepted
