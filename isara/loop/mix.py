"""The training mix of a round: D0 and the generated samples, with weight gamma on D0.

Definition: with n0 seed rows and ng generated rows (N = n0 + ng), each seed row gets weight
gamma * N / n0 and each generated row (1 - gamma) * N / ng. So D0 carries the share `gamma` of
the total training weight whatever the sizes, the mean weight is 1 (the learning rate means the
same for every gamma), gamma = 1 trains on the seed only and gamma = 0 on generated data only.
Rows whose weight is 0 are left out. With no generated rows, D0 carries all the weight.

The data-scaling ratio of a run is |D0 + accepted| / |D0|: how many times the seed set grew.
"""

from __future__ import annotations

from typing import Sequence


def mix(seed_rows: Sequence[dict], generated_rows: Sequence[dict], gamma: float) -> list[dict]:
    if not generated_rows:
        gamma = 1.0
    if gamma in (0.0, 1.0):  # one source only: plain, unweighted SFT on it
        seed_rows, generated_rows = (seed_rows, ()) if gamma == 1.0 else ((), generated_rows)
    n_seed, n_gen = len(seed_rows), len(generated_rows)
    total = n_seed + n_gen
    parts = (
        ("seed", seed_rows, gamma * total / n_seed if n_seed else 0.0),
        ("generated", generated_rows, (1.0 - gamma) * total / n_gen if n_gen else 0.0),
    )
    mixed = []
    for source, rows, weight in parts:
        if weight <= 0.0:
            continue
        for row in rows:
            mixed.append(
                {"id": row["id"], "question": row["question"], "answer": row["answer"],
                 "source": source, "weight": weight}
            )
    return mixed


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
