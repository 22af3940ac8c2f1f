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
