"""Which outputs of the DAG are stale: those of every stage `dvc status` finds not up to date (its
code, params or inputs changed since it ran). `isara report` leaves them out, so a report after a
partial run (`dvc repro evaluate@iter1-domain`) never mixes in the numbers an earlier run left in
git (metrics/ is tracked)."""

from __future__ import annotations

from pathlib import Path

from isara.errors import IsaraError


def stale_outputs(root: str | Path = ".") -> set[str]:
    """Output paths, as dvc.yaml names them, of the stages `dvc status` lists in the project at
    `root`; an empty set where there is no DVC project."""
    if not (Path(root) / "dvc.yaml").is_file():
        return set()
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            changed = repo.status()
            return {str(out.def_path) for stage in repo.index.stages if stage.addressing in changed
                    for out in stage.outs}
    except DvcException as err:
        raise IsaraError(f"{root}: dvc status failed ({err})") from None
