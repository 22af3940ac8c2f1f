"""Profiles: overrides applied to params.yaml with comments kept, or turned into `dvc exp run -S`."""

import shutil

import pytest

from isara.errors import IsaraError
from isara.config import load_params
from isara.profiles import apply_profile, load_profile, set_args
from tests.conftest import ROOT


@pytest.fixture
def params_copy(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    return path


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")))
def test_every_shipped_profile_applies_and_validates(params_copy, name):
    overrides = load_profile(name, ROOT / "profiles")
    apply_profile(params_copy, overrides)
    text = params_copy.read_text()
    assert "# |D0|: seed pairs drawn reproducibly" in text, "comments must survive"
    params = load_params(params_copy)
    for dotted, value in overrides.items():
        node = params
        for key in dotted.split("."):
            node = node[key] if isinstance(node, dict) else getattr(node, key)
        assert node == (tuple(value) if isinstance(value, list) and isinstance(node, tuple) else value)


def test_unknown_key_or_bad_value_leaves_params_untouched(params_copy):
    before = params_copy.read_text()
    with pytest.raises(IsaraError, match="'finetune.nope' does not exist"):
        apply_profile(params_copy, {"finetune.nope": 1})
    with pytest.raises(IsaraError) as err:
        apply_profile(params_copy, {"gamma": 2.0})
    assert str(err.value).startswith(f"{params_copy}: gamma must be in")  # the file the user knows
    assert ".tmp" not in str(err.value)
    assert params_copy.read_text() == before
    assert sorted(p.name for p in params_copy.parent.iterdir()) == ["params.yaml"]


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(IsaraError, match="known: .*tiny"):
        load_profile("nope", ROOT / "profiles")


def test_set_args_are_compact_dvc_assignments():
    args = set_args({"gamma": 0.5, "filter.drop_unfinished": False, "evaluate.suites": ["a", "b"]})
    assert args == ["-S", "gamma=0.5", "-S", "filter.drop_unfinished=false", "-S", "evaluate.suites=[a,b]"]


def test_the_readme_pattern_stops_on_an_unknown_profile(tmp_path):
    """`dvc exp run $(isara profile nosuch)` prints the error and runs a plain experiment anyway; the
    README's `args=$(isara profile NAME) && dvc exp run $args` stops."""
    import subprocess
    import sys
    from pathlib import Path

    isara = Path(sys.executable).parent / "isara"
    if not isara.is_file():
        pytest.skip("the isara command is not installed in this environment")
    readme = (ROOT / "README.md").read_text()
    assert "args=$(isara profile safety) && dvc exp run $args" in readme
    script = f'cd "{ROOT}" && args=$("{isara}" profile nosuch) && echo "RAN dvc exp run $args"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert done.returncode != 0 and "RAN" not in done.stdout
    assert "unknown profile 'nosuch'" in done.stderr
    script = f'cd "{ROOT}" && args=$("{isara}" profile tiny) && echo "RAN dvc exp run $args"'
    assert "RAN dvc exp run -S seed_size=12" in subprocess.run(["bash", "-c", script], capture_output=True,
                                                              text=True).stdout


def test_an_inline_list_stays_on_its_line_beside_its_comment(params_copy):
    before = params_copy.read_text().splitlines()
    apply_profile(params_copy, load_profile("safety", ROOT / "profiles"))
    after = params_copy.read_text().splitlines()
    assert len(after) == len(before)  # no list turned into a block
    suites = next(line for line in after if line.lstrip().startswith("suites:"))
    assert suites.startswith("  suites: [harm, xstest, truthfulqa, alpaca_eval]")
    assert suites.endswith("# suites measured: harm | xstest | truthfulqa | alpaca_eval | reward | dev (the")
    assert "  harm: [refusal, classifier]" in after[[i for i, line in enumerate(after) if line == "judges:"][0] + 1]
