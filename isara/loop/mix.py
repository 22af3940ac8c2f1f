"""The training mix of a round: D0 and the generated samples, with weight gamma on D0.

Definition: with n0 seed rows and ng generated rows (N = n0 + ng), each seed row gets weight
gamma * N / n0 and each generated row (1 - gamma) * N / ng. So D0 carries the share `gamma` of
the total training weight whatever the sizes, the mean weight is 1 (the learning rate means the
same for every gamma), gamma = 1 trains on the seed only and gamma = 0 on generated data only.
Rows whose weight is 0 are left out. With no generated rows, D0 carries all the weight.

By label (`mix.by_label`, every row labelled): rows labelled safe carry the share `safe_share`
(`mix.safe_share`) of the training weight and harmful ones the rest, and within a label D0's rows
carry gamma of it, as above. The filter keeps far fewer harmful questions than safe ones (the base
model answers most harmful questions it writes), and without this a round's mix teaches
helpfulness to the point of answering harmful prompts. A label with no generated rows is carried
by its D0 rows. A label D0 does not have is left out, and with one label in D0 that label carries
all (with gamma 0 read "the generated rows" for D0). Where a row carries no label (an unlabelled seed source, or generation
without labels), the mix is the plain one.

A cap (`mix.max_generated_ratio` R > 0): no generated row weighs more than R rows of D0 in its
group (its label, or all rows), so D0's part of a group is at least n0 / (n0 + R * ng) and gamma
where that is larger. With 40 new questions a round and few of them kept under one label, a kept
pair otherwise weighs many times a D0 row (25 times in round 1 of the default run: 3 generated
pairs labelled harmful against 32 of D0); with the paper's 512 a round it weighs less than one.

General instruction pairs (`general_rows`, `mix.general_share` g > 0; `isara.loop.general`): they
carry the share g of the training weight, evenly, and the rows above (1 - g) of it, in the
proportions they would have had alone; the mean weight stays 1. With no general rows the mix is
exactly the one above.
"""

from __future__ import annotations

from typing import Sequence

from isara.labels import SAFE


def mix(seed_rows: Sequence[dict], generated_rows: Sequence[dict], gamma: float,
        by_label: bool = False, safe_share: float = 0.5, max_generated_ratio: float = 0.0,
        general_rows: Sequence[dict] = (), general_share: float = 0.0) -> list[dict]:
    mixed = _mix(seed_rows, generated_rows, gamma, by_label, safe_share, max_generated_ratio)
    if not general_rows or general_share <= 0.0 or not mixed:
        return mixed
    total = len(mixed) + len(general_rows)
    scale = (1.0 - general_share) * total / sum(row["weight"] for row in mixed)
    general = general_share * total / len(general_rows)
    return [{**row, "weight": row["weight"] * scale} for row in mixed] + [
        {"id": row["id"], "question": row["question"], "answer": row["answer"], "source": "general", "weight": general}
        for row in general_rows]


def _mix(seed_rows: Sequence[dict], generated_rows: Sequence[dict], gamma: float,
         by_label: bool, safe_share: float, max_generated_ratio: float) -> list[dict]:
    if not generated_rows:
        gamma = 1.0
    if gamma in (0.0, 1.0):  # one source only: plain, unweighted SFT on it
        seed_rows, generated_rows = (seed_rows, ()) if gamma == 1.0 else ((), generated_rows)
    total = len(seed_rows) + len(generated_rows)
    weights: dict[int, float] = {}  # id() of a row -> its weight
    for share, seed, generated in _groups(seed_rows, generated_rows, by_label, safe_share):
        mass = share * total
        seed_share = 1.0 if not generated else gamma if seed else 0.0
        if max_generated_ratio > 0 and seed and generated:
            seed_share = max(seed_share, len(seed) / (len(seed) + max_generated_ratio * len(generated)))
        for rows, part in ((seed, seed_share * mass), (generated, (1.0 - seed_share) * mass)):
            for row in rows:
                weights[id(row)] = part / len(rows)
    mixed = []
    for source, rows in (("seed", seed_rows), ("generated", generated_rows)):
        for row in rows:
            weight = weights.get(id(row), 0.0)  # 0: a label D0 does not have
            if weight > 0.0:
                mixed.append({"id": row["id"], "question": row["question"], "answer": row["answer"],
                              "source": source, "weight": weight})
    return mixed


def _groups(seed_rows: Sequence[dict], generated_rows: Sequence[dict], by_label: bool, safe_share: float):
    """(share of the total weight, seed rows, generated rows) per label, or one group of all rows."""
    rows = [*seed_rows, *generated_rows]
    if not by_label or not rows or any(row.get("label") is None for row in rows):
        return [(1.0, seed_rows, generated_rows)]
    labels = sorted({row["label"] for row in seed_rows or generated_rows})  # generated ones where D0 takes no part
    shares = {label: 1.0 if len(labels) == 1 else safe_share if label == SAFE else 1.0 - safe_share for label in labels}
    return [(shares[label], [row for row in seed_rows if row["label"] == label],
             [row for row in generated_rows if row["label"] == label]) for label in labels]


def generated_rows(seed_rows: Sequence[dict], pool: Sequence[dict]) -> list[dict]:
    """The rows of a pool that are not D0's."""
    seed_ids = {row["id"] for row in seed_rows}
    return [row for row in pool if row["id"] not in seed_ids]


def data_metrics(seed_size: int, pool_size: int) -> dict:
    """Pool size against |D0|: the data-scaling ratio |D0 + accepted| / |D0|."""
    return {
        "seed_size": seed_size,
        "pool_size": pool_size,
        "generated_accepted": pool_size - seed_size,
        "scaling_ratio": round(pool_size / seed_size, 4),
    }
