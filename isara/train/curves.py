"""Per-step training curves written with dvclive from the trainers' log histories, so that `dvc
plots show` draws them: SFT's loss, learning rate and gradient norm (`train/`), and after it the
preference step's loss, chosen-over-rejected reward margin and reward accuracy (`dpo/`, its steps
numbered on from SFT's last). Written once training ends, from the whole history (a resumed run's
history includes the steps before the crash), without timestamps: the same run writes the same files."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

CURVES = {"loss": "loss", "learning_rate": "learning_rate", "grad_norm": "grad_norm"}  # log key -> curve
DPO_CURVES = {"loss": "loss", "rewards/margins": "margin", "rewards/accuracies": "accuracy"}


def curve_rows(log_history: Sequence[dict], curves: dict[str, str] = CURVES) -> list[tuple[int, dict]]:
    """(step, {curve: value}) for each logged training step, in step order."""
    rows = {}
    for entry in log_history:
        values = {name: float(entry[key]) for key, name in curves.items() if key in entry}
        if values and "step" in entry and "train_loss" not in entry:
            rows[int(entry["step"])] = values
    return sorted(rows.items())


def write_curves(folder: str | Path, log_history: Sequence[dict], dpo_history: Sequence[dict] = ()) -> None:
    """The dvclive folder `folder` (metrics.json, plots/metrics/train/*.tsv and, after a preference
    step, plots/metrics/dpo/*.tsv), written whole."""
    from dvclive import Live

    from isara.atomic import atomic_dir

    sft = curve_rows(log_history)
    offset = sft[-1][0] if sft else 0
    steps = [("train", step, values) for step, values in sft]
    steps += [("dpo", offset + step, values) for step, values in curve_rows(dpo_history, DPO_CURVES)]
    with atomic_dir(folder) as tmp:
        live = Live(dir=str(tmp), save_dvc_exp=False, dvcyaml=None, report=None)
        for prefix, step, values in steps:
            live.step = step
            for name, value in values.items():
                live.log_metric(f"{prefix}/{name}", value)
            live.make_summary()
        live.end()
