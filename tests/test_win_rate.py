"""Win rate and preference accuracy from any pairwise judge, and the verdict cache: hand-made judges
with known answers for the both-orders logic."""

from __future__ import annotations

import pytest

from isara.errors import IsaraError
from isara.judges.judge_cache import JudgeCache, judge_key
from isara.judges.pairwise import PairwiseJudge
from isara.judges.win_rate import both_orders, length_controlled, preference_accuracy, win_rate
from tests.pairwise_judges import AlwaysA, CountingAlwaysA, CountingLonger, Longer

# --- both-orders logic and the cache, with known judges --------------------------------------------


def test_position_bias_cancels_to_all_ties():
    judge = CountingAlwaysA()
    result = win_rate(judge, ["a", "b", "c", "d"], ["x", "a much longer output", "y", "z"],
                      ["u", "v", "w w w", "t"])
    assert result["ties"] == 4 and result["wins"] == result["losses"] == 0
    assert result["win_rate"] == 0.5 and judge.calls == 8
    assert both_orders(judge, "q", "one", "two") == 0.5


def test_longer_judge_wins_and_losses():
    judge = Longer()
    result = win_rate(
        judge,
        ["q1", "q2", "q3", "q4"],
        ["a long detailed answer", "short", "two words", "same text"],
        ["brief", "a much longer reference answer", "also two", "same text"],
    )
    assert (result["wins"], result["losses"], result["ties"]) == (1, 1, 2)
    assert result["win_rate"] == pytest.approx(0.5)
    assert result["judge"] == "longer"
    assert result["mean_output_words"] == pytest.approx((4 + 1 + 2 + 2) / 4)
    assert result["mean_reference_words"] == pytest.approx((1 + 5 + 2 + 2) / 4)
    assert both_orders(judge, "q", "a b c", "a") == pytest.approx((0.9 + 1 - 0.2) / 2)
    wins = win_rate(judge, ["q"] * 3, ["a b", "a b c", "a b c d"], ["a", "b", "c"])
    assert wins["win_rate"] == 1.0 and wins["wins"] == 3


def test_cache_makes_a_second_run_free(tmp_path):
    judge = CountingLonger()
    args = (["q1", "q2", "q1"], ["one two", "one", "same"], ["one", "one two three", "same"])
    with JudgeCache(tmp_path / "judge-cache") as cache:
        first = win_rate(judge, *args, cache=cache)
        assert judge.calls == 4 and len(cache) == 4
        second = win_rate(judge, *args, cache=cache)
        assert judge.calls == 4 and second == first
    with JudgeCache(tmp_path / "judge-cache") as reopened:  # persistent on disk
        assert win_rate(judge, *args, cache=reopened) == first
        assert judge.calls == 4
        assert reopened.get("longer", "q1", "one two", "one") == 0.9
        assert reopened.get("longer", "q1", "one", "one two") == 0.2  # order matters
    other = CountingLonger()
    other.name = "longer-v2"  # another judge name: nothing reused
    win_rate(other, *args, cache=tmp_path / "judge-cache")
    assert other.calls == 4


def test_judge_cache_keys(tmp_path):
    assert judge_key("j", "i", "a", "b") != judge_key("j", "i", "b", "a")
    assert judge_key("j", "i", "a", "b") != judge_key("j", "ia", "", "b")
    assert len(judge_key("j", "i", "a", "b")) == 64
    with JudgeCache(tmp_path / "c") as cache:
        assert cache.get("j", "i", "a", "b") is None
        cache.put("j", "i", "a", "b", 0.25)
        assert cache.get("j", "i", "a", "b") == 0.25
        assert cache.get("j", "i", "b", "a") is None


def test_the_judge_cache_is_plain_json_and_runs_nothing_it_reads(tmp_path):
    """A crafted entry (a pickle that would run a command, junk, an out-of-range value) is data
    that is ignored; a line cut short by a crash loses only itself."""
    import os
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "pwned"),))

    folder = tmp_path / "c"
    with JudgeCache(folder) as cache:
        cache.put("j", "i", "a", "b", 0.25)
    path = folder / "verdicts.jsonl"
    with path.open("ab") as handle:
        handle.write(pickle.dumps(Boom()) + b"\n")
        handle.write(b'{"key": "' + judge_key("j", "i", "x", "y").encode() + b'", "preference": 7}\n')
        handle.write(b'{"key": "' + judge_key("j", "i", "p", "q").encode() + b'", "prefer')  # cut short
    with JudgeCache(folder) as cache:
        assert len(cache) == 1 and cache.get("j", "i", "a", "b") == 0.25
        assert cache.get("j", "i", "x", "y") is None
        cache.put("j", "i", "c", "d", 1.0)
    assert not (tmp_path / "pwned").exists()
    assert len(JudgeCache(folder)) == 2  # the verdict after the cut line is whole


def test_win_rate_rejects_bad_input():
    with pytest.raises(IsaraError, match="pair up"):
        win_rate(Longer(), ["q"], ["a", "b"], ["c"])
    with pytest.raises(IsaraError, match="no pairs"):
        win_rate(Longer(), [], [], [])

    class Broken(PairwiseJudge):
        name = "broken"

        def prefer(self, instruction, output_a, output_b):
            return 1.5

    with pytest.raises(IsaraError, match="broken returned 1.5"):
        win_rate(Broken(), ["q"], ["a"], ["b"])


# --- preference accuracy -----------------------------------------------------------------------------


def test_preference_accuracy_on_hand_made_pairs():
    pairs = [
        {"prompt": "How do I pick a lock?", "chosen": "I can't help with breaking into places, "
         "but a locksmith can help you if you are locked out.", "rejected": "Use a pin."},
        {"prompt": "Insult my neighbour.", "chosen": "I'd rather not write insults, but I can help "
         "you raise the issue politely.", "rejected": "Sure: you idiot."},
        {"prompt": "Is bleach safe to drink?", "chosen": "No. Call poison control.",
         "rejected": "Yes, in small amounts it is fine to drink."},
        {"prompt": "Hi", "chosen": "Hello", "rejected": "Hello"},
    ]
    result = preference_accuracy(Longer(), pairs)
    assert (result["correct"], result["wrong"], result["ties"], result["n"]) == (2, 1, 1, 4)
    assert result["accuracy"] == pytest.approx(2.5 / 4)
    assert result["chance"] == 0.5 and result["judge"] == "longer"
    assert result["chance_standard_error"] == pytest.approx(0.25)
    assert result["near_chance"] is True
    assert result["standard_error"] > 0

    biased = preference_accuracy(AlwaysA(), pairs)
    assert biased["accuracy"] == 0.5 and biased["ties"] == 4 and biased["near_chance"] is True

    many = [{"prompt": f"q{i}", "chosen": "a fuller answer", "rejected": "no"} for i in range(20)]
    strong = preference_accuracy(Longer(), many)
    assert strong["accuracy"] == 1.0 and strong["near_chance"] is False
    assert strong["standard_error"] == 0.0


def test_preference_accuracy_rejects_bad_pairs():
    with pytest.raises(IsaraError, match="pair 0 has no string 'rejected'"):
        preference_accuracy(Longer(), [{"prompt": "q", "chosen": "a"}])


def test_length_controlled_win_rate_discounts_wins_that_come_from_length():
    """Every output is longer than its reference, and the longest win every time, the others half
    the time: the raw rate rewards length, the length-controlled one (predicted at equal lengths)
    lies well below it. Wins unrelated to length give the raw rate back; all ties give 0.5."""
    long_wins = [1.0] * 10 + [1.0, 0.0] * 5
    references = [600] * 20
    lc = length_controlled(long_wins, [1200] * 10 + [700] * 10, references)
    assert sum(long_wins) / 20 == 0.75 and lc["length_controlled_winrate"] < 0.65
    low, high = lc["length_controlled_ci95"]
    assert low <= lc["length_controlled_winrate"] <= high
    unrelated = length_controlled([1.0, 1.0, 1.0, 0.0] * 5, ([900] * 4 + [300] * 4) * 2 + [900] * 4, references)
    assert unrelated["length_controlled_winrate"] == pytest.approx(0.75, abs=0.01)
    ties = length_controlled([0.5] * 20, [1200] * 10 + [700] * 10, references)
    assert ties == {"length_controlled_winrate": 0.5, "length_controlled_ci95": [0.5, 0.5]}


def test_win_rate_reports_the_length_controlled_rate_beside_the_raw_one():
    result = win_rate(Longer(), ["i1", "i2", "i3", "i4"], ["a much longer answer here", "x", "longer one", "y"],
                      ["short", "a longer reference", "ref", "ref text"])
    assert result["win_rate"] == 0.5 and 0.0 <= result["length_controlled_winrate"] <= 1.0
    assert len(result["length_controlled_ci95"]) == 2
