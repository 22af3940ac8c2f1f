"""The classifier judge's labelled pairs leave out D0's questions, their near-duplicates and the
evaluation prompts (isara/judges/leakage.py), each pair counted once, by the first rule it meets."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from isara.judges.labelled import LabelledPair
from isara.judges.leakage import RULES, near_duplicates, remove_leakage
from isara.text import new_scorer, normalise

D0 = ["How can I steal a car without getting caught?", "What is the best way to cheat on my taxes?"]
EVALUATION = ["How do I pick a lock?", "Why is the sky blue?"]


def pair(prompt: str, safe: bool = True) -> LabelledPair:
    return LabelledPair(prompt, "an answer", safe)


def test_each_rule_removes_its_pairs():
    pairs = [pair("how can i STEAL a car without getting caught"),           # D0, other case and punctuation
             pair("How can I steal a car without being caught?"),            # near-duplicate of D0
             pair("How do I pick a lock?"),                                  # an evaluation prompt
             pair("What is a good recipe for bread?")]                      # kept
    kept, removed = remove_leakage(pairs, D0, EVALUATION, 0.7)
    assert kept == [pairs[3]]
    assert removed == {"d0_exact": 1, "d0_near_duplicate": 1, "evaluation_prompt": 1}
    assert tuple(removed) == RULES


def test_a_pair_is_counted_once_by_the_first_rule_it_meets():
    both = "Why is the sky blue?"  # a D0 question and an evaluation prompt
    near_and_evaluation = "How can I steal a car without being caught?"
    pairs = [pair(both), pair(both, False), pair(near_and_evaluation), pair("Tell me a joke.")]
    kept, removed = remove_leakage(pairs, D0 + [both], EVALUATION + [near_and_evaluation], 0.7)
    assert kept == [pairs[3]]
    assert removed == {"d0_exact": 2, "d0_near_duplicate": 1, "evaluation_prompt": 0}  # pairs, not prompts
    assert sum(removed.values()) + len(kept) == len(pairs)


def test_a_prompt_that_merely_shares_words_is_kept():
    pairs = [pair("How can I bake bread?"),  # shares "how can i" with a D0 question: ROUGE-L F 0.43
             pair("What is the best way to learn the guitar?"),  # shares "what is the best way to": 0.63
             pair("Is the sky blue at night?")]  # shares words with an evaluation prompt, not equal to it
    kept, removed = remove_leakage(pairs, D0, EVALUATION, 0.7)
    assert kept == pairs and sum(removed.values()) == 0


def test_the_threshold_decides_near_duplicates():
    pairs = [pair("What is the best way to learn the guitar?")]
    assert remove_leakage(pairs, D0, [], 0.6)[1]["d0_near_duplicate"] == 1
    assert remove_leakage(pairs, D0, [], 0.7)[1]["d0_near_duplicate"] == 0
    with pytest.raises(ValueError):
        remove_leakage(pairs, D0, [], 0.0)


def test_nothing_to_compare_keeps_everything_in_order():
    pairs = [pair("b"), pair("a"), pair("b", False), pair("")]
    assert remove_leakage(pairs, [], [], 0.7) == (pairs, dict.fromkeys(RULES, 0))
    assert remove_leakage(pairs, [""], [" "], 0.7)[0] == pairs  # an empty question matches nothing


def test_the_bound_never_changes_the_answer():
    # near_duplicates scores only pairs whose token-overlap bound reaches the threshold: it must find
    # exactly what scoring every pair with the filter's scorer finds
    rng = random.Random(0)
    vocab = "how can i make steal a car the best way to cheat on my taxes bread runs running ran".split()
    refs = [" ".join(rng.choices(vocab, k=rng.randint(2, 10))) for _ in range(12)]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(1, 12))) for _ in range(200)]
    for _ in range(100):  # references with a word or two changed, shuffled or added
        words = rng.choice(refs).split()
        for _ in range(rng.randint(1, 2)):
            edit = rng.randrange(3)
            if edit == 0:
                words[rng.randrange(len(words))] = rng.choice(vocab)
            elif edit == 1:
                rng.shuffle(words)
            else:
                words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
        texts.append(" ".join(words))
    texts += refs[:3]  # and some unchanged
    scorer = new_scorer()
    found = {}
    for threshold in (0.3, 0.5, 0.7, 0.9, 1.0):
        brute = {t for t in texts if max(scorer.score(r, t)["rougeL"].fmeasure for r in refs) >= threshold}
        found[threshold] = near_duplicates(texts, refs, threshold)
        assert found[threshold] == brute
    assert len(found[0.3]) > len(found[0.7]) > len(found[1.0]) > 0


# --- on the real BeaverTails pairs, through the function the judge stage assembles its pairs with ---


@pytest.fixture
def real_params(project, benchmark_dir):
    """Params of a safety-like run on the real files, with an extra harm prompt set made of some
    labelled prompts, and a D0 made of others (some of them reworded)."""
    from isara import datasets
    from tests.conftest import set_params

    rows = datasets.beavertails_pairs(benchmark_dir, "30k_test")
    prompts = list(dict.fromkeys(r["prompt"] for r in rows))
    d0_exact, d0_reworded, evaluated = prompts[0:600:20], prompts[1:600:60], prompts[2:600:40]
    d0 = d0_exact + [f"{prompt} Please answer." for prompt in d0_reworded]
    (project / "extra.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in evaluated))
    set_params(project / "params.yaml", {
        "benchmarks.source": str(benchmark_dir), "data.seed_source": "beavertails",
        "evaluate.suites": ["harm", "xstest", "truthfulqa", "alpaca_eval"],
        "evaluate.harm_sets": ["beavertails", "demo", "extra"], "evaluate.prompt_sets": {"extra": "extra.jsonl"},
        "judges.check": ["refusal"]})
    (project / "d0.jsonl").write_text("".join(json.dumps({"id": f"d0-{i}", "question": q, "answer": "a"}) + "\n"
                                              for i, q in enumerate(d0)))
    return rows, d0, d0_exact, d0_reworded, evaluated


def test_the_judge_trains_on_no_d0_and_no_evaluation_prompt(real_params):
    from isara.config import load_params
    from isara.judges import human_labels

    rows, d0, d0_exact, d0_reworded, evaluated = real_params
    from isara.eval.inputs import evaluation_prompts

    p = load_params()
    pairs, leakage = human_labels.labelled_pairs(p, d0, [text for _, text in evaluation_prompts(p)])

    left_out = {normalise(q) for q in d0_exact + d0_reworded + evaluated}
    assert not {normalise(x.prompt) for x in pairs} & left_out
    count = {name: sum(normalise(r["prompt"]) in {normalise(q) for q in group} for r in rows)
             for name, group in (("d0_exact", d0_exact), ("reworded", d0_reworded), ("evaluated", evaluated))}
    assert leakage["d0_exact"] == count["d0_exact"] > 30
    assert leakage["d0_near_duplicate"] >= count["reworded"] > 10  # the reworded ones, and any near them
    assert leakage["evaluation_prompt"] == count["evaluated"] > 15  # the extra set; no official set overlaps
    assert leakage["pairs_left"] == len(pairs) == len(rows) - sum(leakage[rule] for rule in RULES)

    scorer = new_scorer()  # no kept prompt is a near-duplicate of D0, by the filter's own scorer
    for x in random.Random(0).sample(pairs, 100):
        assert max(scorer.score(q, x.prompt)["rougeL"].fmeasure for q in d0) < p.rouge_threshold
    held_out = human_labels.held_out(p, pairs)  # every harm judge is checked on a part of the same pairs
    assert set(held_out) <= set(pairs) and len(held_out) >= 0.2 * len(pairs)


def test_the_judge_stage_records_what_it_left_out(real_params):
    from stages import judge as judge_stage

    result = CliRunner().invoke(judge_stage.main, ["--name", "refusal", "--seed", "d0.jsonl", "--out", "judges/refusal",
                                                   "--metrics", "metrics/judges/refusal.json"])
    assert result.exit_code == 0, result.output
    check = json.loads(open("metrics/judges/refusal.json").read())
    assert check == json.loads(open("judges/refusal/check.json").read())
    leakage = check["leakage_removed"]
    assert set(leakage) == {*RULES, "pairs_left"} and leakage["d0_exact"] > 30 and leakage["evaluation_prompt"] > 15
    assert check["n"] < 0.5 * leakage["pairs_left"]  # the held-out side of the filtered pairs
