"""The whole DVC DAG on tiny OPT: a model with no chat template runs every stage in plain text. Its
own module, so that `make test`'s two processes can run it beside the LLaMA DAG of test_pipeline."""

from __future__ import annotations

import json

import pytest

from tests.pipeline_repo import ALL_STAGES, METHODS, dvc, make_repo, ran_stages

pytestmark = pytest.mark.pipeline


def test_plain_text_path_with_tiny_opt(tmp_path, tiny_opt):
    repo = make_repo(tmp_path, tiny_opt)
    assert ran_stages(dvc(repo, "repro")) == ALL_STAGES
    for method in METHODS:
        assert json.loads((repo / f"metrics/methods/{method}/harm.json").read_text())["prompt_format"] == "plain"
    contexts = (repo / "work/iter1/candidates.jsonl").read_text()
    assert "<|im_start|>" not in contexts
