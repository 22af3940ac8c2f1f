"""mix: D0 carries exactly gamma of the training weight, the mean weight is 1."""

from __future__ import annotations

import pytest

from isara.loop.mix import data_metrics, generated_rows, mix


def rows(prefix: str, n: int) -> list[dict]:
    return [{"id": f"{prefix}{i}", "question": f"q {prefix}{i}", "answer": f"a {prefix}{i}", "extra": 1} for i in range(n)]


def share_of_seed(mixed: list[dict]) -> float:
    total = sum(row["weight"] for row in mixed)
    return sum(row["weight"] for row in mixed if row["source"] == "seed") / total


@pytest.mark.parametrize("gamma", [0.1, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("n_seed, n_gen", [(64, 36), (10, 200), (50, 1), (3, 3)])
def test_seed_share_is_gamma_and_mean_weight_is_one(gamma, n_seed, n_gen):
    mixed = mix(rows("s", n_seed), rows("g", n_gen), gamma)
    assert len(mixed) == n_seed + n_gen
    assert share_of_seed(mixed) == pytest.approx(gamma)
    assert sum(row["weight"] for row in mixed) / len(mixed) == pytest.approx(1.0)
    # every row of a source has the same weight
    assert len({row["weight"] for row in mixed if row["source"] == "seed"}) == 1
    assert len({row["weight"] for row in mixed if row["source"] == "generated"}) == 1


def test_rows_keep_their_content_and_order():
    seed, generated = rows("s", 2), rows("g", 3)
    mixed = mix(seed, generated, 0.3)
    assert [row["id"] for row in mixed] == ["s0", "s1", "g0", "g1", "g2"]
    assert [row["source"] for row in mixed] == ["seed"] * 2 + ["generated"] * 3
    for row, original in zip(mixed, seed + generated):
        assert (row["question"], row["answer"]) == (original["question"], original["answer"])
        assert set(row) == {"id", "question", "answer", "source", "weight"}


def test_gamma_one_keeps_only_seed_rows():
    mixed = mix(rows("s", 8), rows("g", 5), 1.0)
    assert [row["source"] for row in mixed] == ["seed"] * 8
    assert share_of_seed(mixed) == 1.0


def test_gamma_zero_keeps_only_generated_rows():
    mixed = mix(rows("s", 8), rows("g", 5), 0.0)
    assert [row["source"] for row in mixed] == ["generated"] * 5


def test_no_generated_rows_is_all_seed_with_weight_one():
    for gamma in (0.0, 0.3, 1.0):
        mixed = mix(rows("s", 6), [], gamma)
        assert [row["source"] for row in mixed] == ["seed"] * 6
        assert [row["weight"] for row in mixed] == [1.0] * 6


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_mean_weight_is_one_at_gamma_endpoints(gamma):
    """At gamma 0 or 1 only one source is kept and every kept row weighs 1 (plain SFT on it)."""
    mixed = mix(rows("s", 8), rows("g", 5), gamma)
    assert sum(row["weight"] for row in mixed) / len(mixed) == pytest.approx(1.0)


def test_data_metrics():
    assert data_metrics(64, 100) == {
        "seed_size": 64,
        "pool_size": 100,
        "generated_accepted": 36,
        "scaling_ratio": 1.5625,
    }
    assert data_metrics(3, 3)["scaling_ratio"] == 1.0
    assert data_metrics(3, 10)["scaling_ratio"] == round(10 / 3, 4)


def test_generated_rows_are_the_pool_rows_not_in_d0():
    seed = [{"id": "seed-0000"}, {"id": "seed-0001"}]
    pool = seed + [{"id": "it1-0003"}, {"id": "it2-0000"}]
    assert generated_rows(seed, pool) == [{"id": "it1-0003"}, {"id": "it2-0000"}]


def labelled(prefix: str, label: str, n: int) -> list[dict]:
    return [{**row, "label": label} for row in rows(f"{prefix}{label[0]}", n)]


def label_share(mixed: list[dict], label: str, source: str | None = None) -> float:
    total = sum(row["weight"] for row in mixed)
    return sum(row["weight"] for row in mixed
               if row["id"][1] == label[0] and source in (None, row["source"])) / total


@pytest.mark.parametrize("gamma", [0.1, 0.3, 0.7])
def test_by_label_each_label_keeps_its_seed_share_and_gamma_within_it(gamma):
    # the filter's usual outcome: D0 half and half, few harmful pairs kept, many safe ones
    seed = labelled("s", "harmful", 32) + labelled("s", "safe", 32)
    generated = labelled("g", "harmful", 2) + labelled("g", "safe", 14)
    plain = mix(seed, generated, gamma)
    assert label_share(plain, "harmful") < 0.5  # without labels the safe pairs outweigh
    mixed = mix(seed, generated, gamma, by_label=True)
    assert len(mixed) == 80
    assert sum(row["weight"] for row in mixed) / len(mixed) == pytest.approx(1.0)
    for label in ("harmful", "safe"):
        assert label_share(mixed, label) == pytest.approx(0.5)
        assert label_share(mixed, label, "seed") == pytest.approx(0.5 * gamma)
    assert share_of_seed(mixed) == pytest.approx(gamma)


@pytest.mark.parametrize("safe_share", [0.2, 0.5, 0.65])
def test_by_label_safe_rows_carry_safe_share_whatever_d0s_counts(safe_share):
    seed = labelled("s", "harmful", 48) + labelled("s", "safe", 16)
    mixed = mix(seed, labelled("g", "harmful", 5) + labelled("g", "safe", 20), 0.3, by_label=True,
                safe_share=safe_share)
    assert label_share(mixed, "safe") == pytest.approx(safe_share)
    assert label_share(mixed, "harmful") == pytest.approx(1 - safe_share)
    assert label_share(mixed, "safe", "seed") == pytest.approx(0.3 * safe_share)


@pytest.mark.parametrize("safe_share, kept", [(0.0, "h"), (1.0, "s")])
def test_by_label_a_share_of_zero_leaves_that_label_out(safe_share, kept):
    seed = labelled("s", "harmful", 4) + labelled("s", "safe", 4)
    mixed = mix(seed, labelled("g", "safe", 2) + labelled("g", "harmful", 1), 0.3, by_label=True,
                safe_share=safe_share)
    assert {row["id"][1] for row in mixed} == {kept}
    assert sum(row["weight"] for row in mixed) == pytest.approx(11.0)


def test_by_label_a_label_with_no_generated_rows_is_carried_by_its_seed_rows():
    seed = labelled("s", "harmful", 10) + labelled("s", "safe", 10)
    mixed = mix(seed, labelled("g", "safe", 5), 0.3, by_label=True)
    assert label_share(mixed, "harmful") == pytest.approx(0.5)
    assert label_share(mixed, "harmful", "seed") == pytest.approx(0.5)
    assert label_share(mixed, "safe", "seed") == pytest.approx(0.15)


def test_by_label_at_gamma_zero_a_label_without_generated_rows_leaves_its_weight_to_the_others():
    seed = labelled("s", "harmful", 10) + labelled("s", "safe", 10)
    mixed = mix(seed, labelled("g", "safe", 4), 0.0, by_label=True)
    assert [row["source"] for row in mixed] == ["generated"] * 4
    assert [row["weight"] for row in mixed] == [1.0] * 4


def test_by_label_leaves_out_a_generated_label_that_d0_does_not_have():
    seed = labelled("s", "harmful", 10)
    generated = labelled("g", "harmful", 2) + labelled("g", "safe", 3)
    mixed = mix(seed, generated, 0.3, by_label=True)
    assert {row["id"] for row in mixed} == {row["id"] for row in seed + generated[:2]}
    assert sum(row["weight"] for row in mixed) == pytest.approx(15.0)  # the weight of all 15 rows


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0])
def test_by_label_without_labels_everywhere_is_the_plain_mix(gamma):
    seed = labelled("s", "harmful", 6) + labelled("s", "safe", 6)
    generated = rows("g", 5)  # generation without labels
    assert mix(seed, generated, gamma, by_label=True) == mix(seed, generated, gamma)
    one_label = labelled("s", "harmful", 8)  # the paper's D0: a single label
    assert mix(one_label, labelled("g", "harmful", 3), gamma, by_label=True) == mix(one_label, labelled("g", "harmful", 3), gamma)


@pytest.mark.parametrize("ratio", [1.0, 4.0])
def test_a_capped_generated_row_weighs_at_most_ratio_d0_rows_of_its_label(ratio):
    # round 1 of the default run: 3 generated pairs labelled harmful, 12 safe, D0 32 + 32
    seed = labelled("s", "harmful", 32) + labelled("s", "safe", 32)
    generated = labelled("g", "harmful", 3) + labelled("g", "safe", 12)
    uncapped = mix(seed, generated, 0.3, by_label=True)
    capped = mix(seed, generated, 0.3, by_label=True, max_generated_ratio=ratio)
    assert sum(row["weight"] for row in capped) == pytest.approx(len(seed) + len(generated))
    for label in ("harmful", "safe"):
        assert label_share(capped, label) == pytest.approx(0.5)  # the cap moves weight within a label
        weight = {source: {row["weight"] for row in capped if row["id"][1] == label[0] and row["source"] == source}
                  for source in ("seed", "generated")}
        assert len(weight["seed"]) == len(weight["generated"]) == 1
        assert max(weight["generated"]) <= ratio * max(weight["seed"]) * (1 + 1e-9)
        assert label_share(capped, label, "seed") >= 0.5 * 0.3 - 1e-9  # never below gamma
    heaviest = max(row["weight"] for row in uncapped if row["source"] == "generated")
    assert heaviest > 20 * uncapped[0]["weight"]  # 25 times a D0 row without the cap
    assert max(row["weight"] for row in capped if row["source"] == "generated") < heaviest


def test_a_cap_that_holds_already_changes_nothing():
    seed, generated = labelled("s", "harmful", 8) + labelled("s", "safe", 8), labelled("g", "safe", 200)
    assert mix(seed, generated, 0.3, max_generated_ratio=1.0) == mix(seed, generated, 0.3)
    assert mix(seed, generated, 0.3, by_label=True, max_generated_ratio=0.0) == mix(seed, generated, 0.3, by_label=True)


@pytest.mark.parametrize("by_label", [False, True])
@pytest.mark.parametrize("general_share", [0.25, 0.5])
def test_general_rows_carry_their_share_and_leave_the_rest_in_proportion(by_label, general_share):
    seed = labelled("s", "harmful", 32) + labelled("s", "safe", 32)
    generated = labelled("g", "harmful", 3) + labelled("g", "safe", 12)
    general = rows("x", 40)
    alone = mix(seed, generated, 0.3, by_label=by_label)
    mixed = mix(seed, generated, 0.3, by_label=by_label, general_rows=general, general_share=general_share)
    assert len(mixed) == len(alone) + 40
    assert [row["source"] for row in mixed[-40:]] == ["general"] * 40
    assert sum(row["weight"] for row in mixed) / len(mixed) == pytest.approx(1.0)
    total = sum(row["weight"] for row in mixed)
    assert sum(row["weight"] for row in mixed[-40:]) / total == pytest.approx(general_share)
    assert len({row["weight"] for row in mixed[-40:]}) == 1
    ratio = {row["id"]: row["weight"] / before["weight"] for row, before in zip(mixed, alone)}
    assert max(ratio.values()) == pytest.approx(min(ratio.values()))  # the other rows keep their proportions
    assert set(mixed[-1]) == {"id", "question", "answer", "source", "weight"}


def test_no_general_rows_or_no_share_is_the_mix_without_them():
    seed, generated = labelled("s", "harmful", 8) + labelled("s", "safe", 8), labelled("g", "safe", 5)
    for kwargs in ({"general_rows": []}, {"general_rows": rows("x", 4), "general_share": 0.0}):
        assert mix(seed, generated, 0.3, by_label=True, **kwargs) == mix(seed, generated, 0.3, by_label=True)


def test_general_rows_join_the_seed_only_mix_of_sft_seed():
    mixed = mix(rows("s", 6), [], 0.3, general_rows=rows("x", 2), general_share=0.5)
    assert [row["source"] for row in mixed] == ["seed"] * 6 + ["general"] * 2
    assert [row["weight"] for row in mixed] == pytest.approx([8 * 0.5 / 6] * 6 + [8 * 0.5 / 2] * 2)
