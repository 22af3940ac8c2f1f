"""The fingerprints of what DVC cannot hash: each reader's changes exactly when what it reads does."""

from __future__ import annotations

import shutil

import pytest

from isara.config import load_params
from isara.errors import IsaraError
from isara.fingerprint import Digests
from isara.input_fingerprints import fingerprints, reads
from tests.conftest import ROOT, set_params

FILES = ("truthfulqa/TruthfulQA.csv", "xstest/xstest_prompts.csv", "beavertails/BeaverTails-Evaluation.csv")


@pytest.fixture
def params_path(project, benchmark_dir, tmp_path):
    data = tmp_path / "bench"
    for name in FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(benchmark_dir / name, data / name)
    set_params(project / "params.yaml", {"benchmarks.source": str(data), "evaluate.suites": ["harm", "xstest", "truthfulqa"],
                                         "evaluate.harm_sets": ["beavertails", "demo"]})
    return project / "params.yaml"


def test_each_reader_changes_only_with_its_own_files(params_path, tmp_path):
    before = fingerprints(load_params(params_path), Digests(tmp_path / "memo.json"))
    assert set(before) == {"base", "seed", "harm", "xstest", "truthfulqa", "judges", "dev"}
    assert len(before["harm"]) == 3 and before["judges"] == {}  # BeaverTails, the demo and the safe prompts
    with (tmp_path / "bench/truthfulqa/TruthfulQA.csv").open("a") as handle:
        handle.write("\n")
    after = fingerprints(load_params(params_path), Digests(tmp_path / "memo.json"))
    assert after["truthfulqa"] != before["truthfulqa"]
    assert {k: v for k, v in after.items() if k != "truthfulqa"} == {k: v for k, v in before.items() if k != "truthfulqa"}


def test_a_local_base_model_folder_is_fingerprinted_by_content(params_path, tiny_llama, tmp_path):
    folder = tmp_path / "base-model"
    shutil.copytree(tiny_llama, folder)
    set_params(params_path, {"model.name": str(folder)})
    first = fingerprints(load_params(params_path), Digests(tmp_path / "memo.json"))["base"]
    with (folder / "config.json").open("a") as handle:
        handle.write("\n")
    second = fingerprints(load_params(params_path), Digests(tmp_path / "memo.json"))["base"]
    assert first != second and set(first) == {str(folder)}


def test_a_missing_benchmark_file_is_named(params_path, tmp_path):
    (tmp_path / "bench/xstest/xstest_prompts.csv").unlink()
    with pytest.raises(IsaraError, match=r"xstest_prompts.csv: file not found \(read by xstest"):
        fingerprints(load_params(params_path), Digests(tmp_path / "memo.json"))


def test_the_default_run_reads_the_projects_files_and_xstest():
    p = load_params(ROOT / "params.yaml")
    assert reads(p) == {"seed": [("data/seed.jsonl", "")],
                        "harm": [("data/eval_prompts.jsonl", ""), ("data/safe_prompts.jsonl", "")],
                        "xstest": [("../shared/data", "xstest/xstest_prompts.csv")], "judges": [],
                        "dev": [("data/dev_prompts.jsonl", "")]}


def test_digests_are_remembered_by_size_and_mtime(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * 100)
    memo = tmp_path / "memo.json"
    digests = Digests(memo)
    first = digests.file(path)
    digests.save()
    assert Digests(memo).known == digests.known and not Digests(memo).changed
    path.write_bytes(b"y" * 100)
    assert Digests(memo).file(path) != first
