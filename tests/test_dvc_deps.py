"""Code deps in dvc.yaml are complete by construction: for every stage, each isara module its script
imports (transitively, lazy imports inside functions included) is a listed dep, or lies in a listed
package folder. Nothing that can change results is exempt; the few helpers that cannot are named in
EXEMPT. Package __init__ files that hold nothing but a docstring are exempt too."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

EXEMPT = {
    "isara/__init__.py": "the package's version string",
    "isara/errors.py": "the error type",
    "isara/atomic.py": "atomic writes decide when a file appears, not what it holds",
    "isara/stage.py": "turns an IsaraError into one line and an exit status",
}
# Every judge and suite enabled, so that no stage group is left out of the check.
ALL_ON = {"judges": {"harm": ["refusal", "classifier"], "check": ["refusal", "classifier", "beaver-dam", "pairwise"]},
          "evaluate": {"suites": ["harm", "xstest", "truthfulqa", "alpaca_eval"]}}


def module_file(name: str) -> str | None:
    """The repo-relative file of an isara module name, or None when there is none."""
    parts = name.split(".")
    for candidate in (Path(*parts).with_suffix(".py"), Path(*parts, "__init__.py")):
        if (ROOT / candidate).is_file():
            return candidate.as_posix()
    return None


def imported_modules(path: str) -> set[str]:
    """The isara modules one file imports anywhere in it (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "isara"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "isara":
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if module_file(f"{node.module}.{alias.name}")}
    return found


def closure(script: str) -> set[str]:
    """Every isara file `script` executes on import: each module imported and its parent packages."""
    seen, todo = set(), [script]
    while todo:
        for name in imported_modules(todo.pop()):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                path = module_file(".".join(parts[:depth]))
                if path and path not in seen:
                    seen.add(path)
                    todo.append(path)
    return seen


def docstring_only(path: str) -> bool:
    body = ast.parse((ROOT / path).read_text(encoding="utf-8")).body
    return len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)


def covered(module: str, deps: set[str]) -> bool:
    return any(module == dep or module.startswith(dep.rstrip("/") + "/") for dep in deps)


def missing_deps(dvc_yaml: Path, params: dict, tmp: Path) -> dict[str, set[str]]:
    """stage -> the isara files its script imports that its deps do not list."""
    from dvc.repo import Repo

    repo_dir = tmp / "resolve"
    repo_dir.mkdir()
    shutil.copy(dvc_yaml, repo_dir / "dvc.yaml")
    (repo_dir / "params.yaml").write_text(yaml.safe_dump(params))
    Repo.init(repo_dir, no_scm=True)
    missing = {}
    with Repo(repo_dir) as repo:
        for stage in repo.index.stages:
            script = next(word for word in stage.cmd.split() if word.startswith("stages/"))
            deps = {dep.def_path for dep in stage.deps}
            assert script in deps, f"{stage.name} does not list its own script {script}"
            lacking = {m for m in closure(script) - EXEMPT.keys()
                       if not covered(m, deps) and not (m.endswith("__init__.py") and docstring_only(m))}
            if lacking:
                missing[stage.name] = lacking
    return missing


def all_on_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in ALL_ON.items():
        params[section].update(values)
    return params


def test_every_stage_lists_every_isara_module_its_script_imports(tmp_path):
    assert missing_deps(ROOT / "dvc.yaml", all_on_params(), tmp_path) == {}


def test_a_module_left_out_of_a_stage_is_found(tmp_path):
    text = (ROOT / "dvc.yaml").read_text()
    assert text.count(" isara/loop/filter_metrics.py,") == 1
    broken = tmp_path / "dvc.yaml"
    broken.write_text(text.replace(" isara/loop/filter_metrics.py,", ""))
    missing = missing_deps(broken, all_on_params(), tmp_path)
    assert missing == {f"filter@{run}": {"isara/loop/filter_metrics.py"} for run in ("iter1", "iter2", "oneshot")}


def test_the_closure_follows_lazy_imports_inside_functions():
    # stages/evaluate.py reaches the harm judges only through a function-level import in eval/harm.py
    assert "isara/judges/registry.py" in closure("stages/evaluate.py")
    assert "isara/judges/refusal.py" in closure("stages/evaluate.py")
    assert not closure("stages/filter.py") & {"isara/lm/models.py", "isara/embedder.py"}


@pytest.mark.parametrize("path", sorted(EXEMPT))
def test_the_exempt_modules_exist(path):
    assert (ROOT / path).is_file()


def test_only_the_report_depends_on_the_prompt_judge_of_the_dev_split():
    """judges/ also holds judges/prompt_label, which a new dev file re-measures: a stage that lists the
    whole folder would re-run with it (every evaluation). Only the report reads it."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    deps = {name: {str(d) for d in stage.get("do", stage).get("deps", [])} for name, stage in stages.items()}
    judge_outs = {f"judges/{name}" for name in stages["judge"]["foreach"]}
    assert {name for name, listed in deps.items() if "judges" in listed} == {"report"}
    assert {name for name, listed in deps.items() if "judges/prompt_label" in listed} == set()
    assert judge_outs <= deps["evaluate"] and judge_outs <= deps["audit"]
