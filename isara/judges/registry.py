"""Judges as data: params name a judge, this builds it."""

from __future__ import annotations

from pathlib import Path

from isara.errors import IsaraError
from isara.config import Params

CLASSIFIER_DIR = Path("judges/classifier")


def build_harm_judge(name: str, p: Params, judges_dir: Path | None, device):
    """refusal | classifier (trained by judge@classifier into judges/classifier) | beaver-dam."""
    from isara.judges.harm_judges import BeaverDamJudge, ClassifierJudge, RefusalJudge

    if name == "refusal":
        return RefusalJudge()
    if name == "classifier":
        folder = (Path(judges_dir) / "classifier") if judges_dir else CLASSIFIER_DIR
        if not (folder / "judge.json").is_file():
            raise IsaraError(f"{folder}: no trained classifier judge; run stage judge@classifier "
                             "(judges.check must list classifier)")
        return ClassifierJudge(folder, device)
    return BeaverDamJudge(p.judges.beaver_dam, device)
