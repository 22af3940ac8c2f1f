"""Bad input to a stage: one `error: ...` line naming the file/line/field or key, exit 1, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from stages import base as base_stage
from stages import retrieve as retrieve_stage
from stages import seed as seed_stage
from tests.conftest import set_params

SEED_OUT = "work/iter0/pool.jsonl"
SEED_METRICS = "metrics/iter0/data.json"
GOOD = json.dumps({"question": "How do I fix a flat bicycle tyre?", "answer": "Use a patch kit and a pump."})


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def temp_leftovers(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".tmp")]


def run_failing(project: Path, command, args: list[str], outputs: list[str]) -> str:
    """Invoke a stage that must fail; check the contract and return its one error line."""
    before = files_under(project)
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for output in outputs:
        assert not (project / output).exists(), output
    assert files_under(project) == before
    assert temp_leftovers(project) == []
    return lines[0]


def run_seed_failing(project: Path) -> str:
    return run_failing(project, seed_stage.main, ["--out", SEED_OUT, "--metrics", SEED_METRICS], [SEED_OUT, SEED_METRICS])


# --- seed file problems -------------------------------------------------------------------------


def test_seed_malformed_json(project):
    (project / "data/seed.jsonl").write_text(f"{GOOD}\n{GOOD}\n{{\"question\": \"q\",\n{GOOD}\n")
    assert run_seed_failing(project).startswith("error: data/seed.jsonl:3: malformed JSON")


def test_seed_empty_file(project):
    (project / "data/seed.jsonl").write_text("")
    assert run_seed_failing(project) == "error: data/seed.jsonl: no records (empty file)"


def test_seed_missing_answer(project):
    (project / "data/seed.jsonl").write_text(f'{GOOD}\n{{"question": "How do I fix a flat tyre?"}}\n')
    assert run_seed_failing(project) == "error: data/seed.jsonl:2: field 'answer' is missing"


def test_seed_empty_answer(project):
    (project / "data/seed.jsonl").write_text(f'{GOOD}\n{GOOD}\n{{"question": "q?", "answer": " "}}\n')
    assert run_seed_failing(project) == "error: data/seed.jsonl:3: field 'answer' must be a non-empty string"


def test_seed_not_utf8(project):
    (project / "data/seed.jsonl").write_bytes(
        f"{GOOD}\n{GOOD}\n{GOOD}\n".encode() + b'{"question": "caf\xe9?", "answer": "a"}\n'
    )
    assert run_seed_failing(project).startswith("error: data/seed.jsonl:4: not valid UTF-8")


def test_seed_duplicate_ids_name_both_lines(project):
    rows = [{"id": "a", "question": "q1?", "answer": "a1"}, {"id": "b", "question": "q2?", "answer": "a2"},
            {"id": "a", "question": "q3?", "answer": "a3"}]
    (project / "data/seed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run_seed_failing(project) == "error: data/seed.jsonl:3: id 'a' is already used on line 1"


def test_seed_id_that_looks_generated(project):
    (project / "data/seed.jsonl").write_text(json.dumps({"id": "it1-0000", "question": "q?", "answer": "a"}) + "\n")
    assert "looks like a generated sample's id" in run_seed_failing(project)


@pytest.mark.parametrize("category", ["", 7, "x" * 101])
def test_seed_category_must_be_a_short_name(project, category):
    (project / "data/seed.jsonl").write_text(f'{GOOD}\n' + json.dumps({"question": "q?", "answer": "a", "category": category}) + "\n")
    assert run_seed_failing(project) == ("error: data/seed.jsonl:2: field 'category' must be a non-empty string of "
                                         "at most 100 characters")


def test_seed_example_longer_than_a_training_example(project):
    """A 10 MB answer used to crash generate with an 8 GB allocation; now seed names its line."""
    long = json.dumps({"question": "Why?", "answer": "because " * 600})
    (project / "data/seed.jsonl").write_text(f"{GOOD}\n{long}\n")
    set_params(project / "params.yaml", {"seed_size": 2, "k": 1})
    assert run_seed_failing(project) == ("error: data/seed.jsonl:2: the pair has 601 words, more than a training "
                                         "example's finetune.max_length (512 tokens) can hold")


def test_seed_huge_one_word_answer_is_refused_by_its_length_alone(project, monkeypatch):
    """One word of 10 MB used to pass seed (1 word) and fail in generate; its length alone refuses it
    now, before any word of it is counted."""
    import isara.loop.seed

    huge = json.dumps({"question": "Why?", "answer": "a" * 10_000_000})
    (project / "data/seed.jsonl").write_text(f"{GOOD}\n{huge}\n")
    set_params(project / "params.yaml", {"seed_size": 2, "k": 1})
    counted = []
    monkeypatch.setattr(isara.loop.seed, "words", lambda text: counted.append(len(text)) or text.split())
    assert run_seed_failing(project) == ("error: data/seed.jsonl:2: the pair has 10000004 characters, more than a "
                                         "training example's finetune.max_length (512 tokens) can hold at 16 "
                                         "characters a token")
    assert max(counted, default=0) < 1000  # only the good pair's fields were split into words


def test_seed_char_bound_follows_max_length(project):
    """The bound is finetune.max_length x 16 characters: a pair just over it is refused, one at it is drawn."""
    set_params(project / "params.yaml", {"seed_size": 2, "k": 1, "finetune.max_length": 64})
    at = json.dumps({"question": "Why?", "answer": "a" * (64 * 16 - 4)})
    (project / "data/seed.jsonl").write_text(f"{GOOD}\n{at}\n")
    result = CliRunner().invoke(seed_stage.main, ["--out", SEED_OUT, "--metrics", SEED_METRICS])
    assert result.exit_code == 0, result.output
    over = json.dumps({"question": "Why?", "answer": "a" * (64 * 16 - 3)})
    (project / "data/seed.jsonl").write_text(f"{GOOD}\n{over}\n")
    (project / SEED_OUT).unlink()
    (project / SEED_METRICS).unlink()
    assert "the pair has 1025 characters" in run_seed_failing(project)


def test_seed_size_larger_than_file(project):
    n_rows = sum(1 for line in (project / "data/seed.jsonl").read_text().splitlines() if line.strip())
    set_params(project / "params.yaml", {"seed_size": n_rows + 1, "data.safe_share": 0.0})
    message = run_seed_failing(project)
    assert f"seed_size={n_rows + 1}" in message
    assert "data/seed.jsonl" in message and f"({n_rows} pairs in all)" in message
    set_params(project / "params.yaml", {"data.safe_share": 0.5})  # more safe pairs than the file labels so
    assert f"seed_size={n_rows + 1} with data.safe_share=0.5 asks for 65 seed pairs labelled safe" in run_seed_failing(project)


# --- params problems reach the user the same way ------------------------------------------------


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("gamma", 1.5, "error: params.yaml: gamma must be in [0.0, 1.0], got 1.5"),
        ("rouge_threshold", 0, "error: params.yaml: rouge_threshold must be in (0.0, 1.0], got 0.0"),
        ("k", 0, "error: params.yaml: k must be an integer in [1, 1000], got 0"),
        ("seed", 5000000, "error: params.yaml: seed must be an integer in [0, 4294966], got 5000000"),
        ("gamma", float("nan"), "error: params.yaml: gamma must be a finite number, got nan"),
        ("gama", 0.5, "error: params.yaml: unknown key 'gama'"),
        ("finetune.method", "qlora", "error: params.yaml: finetune.method must be one of full, lora, got 'qlora'"),
        ("filter.colour", 1, "error: params.yaml: unknown key 'filter.colour'"),
    ],
)
def test_bad_params(project, key, value, expected):
    set_params(project / "params.yaml", {key: value})
    assert run_seed_failing(project) == expected


def test_seed_stage_succeeds_on_good_input(project):
    """The same harness on good input: a guard that the failures above are not an artefact."""
    result = CliRunner().invoke(seed_stage.main, ["--out", SEED_OUT, "--metrics", SEED_METRICS])
    assert result.exit_code == 0, result.output
    assert (project / SEED_OUT).is_file()
    assert json.loads((project / SEED_METRICS).read_text())["scaling_ratio"] == 1.0
    categories = {json.loads(line)["question"]: json.loads(line).get("category")
                  for line in (project / "data/seed.jsonl").read_text().splitlines()}
    pool = [json.loads(line) for line in (project / SEED_OUT).read_text().splitlines()]
    assert all(row["category"] == categories[row["question"]] for row in pool)  # the demo seed file has them all
    assert temp_leftovers(project) == []


# --- retrieve: k against the pool ---------------------------------------------------------------


RETRIEVE_OUTPUTS = ["work/iter1/pool.ann", "work/iter1/search.json", "work/iter1/search_times.json",
                    "work/iter1/contexts.jsonl", "metrics/iter1/retrieval.json"]


def retrieve_args(project: Path, pool_rows: int, vector_rows: int) -> list[str]:
    """A pool JSONL of `pool_rows` rows and a .npy of `vector_rows` normalised 8-d vectors."""
    pool = project / "work/iter0/pool.jsonl"
    pool.parent.mkdir(parents=True)
    pool.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "question": f"Question number {i}?", "answer": f"Answer {i}."}) + "\n"
            for i in range(pool_rows)
        )
    )
    vectors = np.random.default_rng(0).normal(size=(vector_rows, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    embeddings = project / "work/iter1/embeddings.npy"
    embeddings.parent.mkdir(parents=True)
    np.save(embeddings, vectors)
    return ["--run", "iter1", "--pool", "work/iter0/pool.jsonl", "--embeddings", "work/iter1/embeddings.npy",
            *(arg for option, path in zip(("--index", "--search", "--times", "--out", "--metrics"), RETRIEVE_OUTPUTS)
              for arg in (option, path))]


def test_retrieve_k_larger_than_pool(project):
    args = retrieve_args(project, pool_rows=3, vector_rows=3)
    set_params(project / "params.yaml", {"k": 4})
    message = run_failing(project, retrieve_stage.main, args, RETRIEVE_OUTPUTS)
    assert "k=4" in message and "work/iter0/pool.jsonl" in message and "(3 examples" in message


def test_retrieve_embeddings_not_matching_pool(project):
    """Stale embeddings (3 vectors for a 5-row pool) give an `error:` line naming both files."""
    args = retrieve_args(project, pool_rows=5, vector_rows=3)
    set_params(project / "params.yaml", {"k": 2})
    message = run_failing(project, retrieve_stage.main, args, RETRIEVE_OUTPUTS)
    assert "work/iter1/embeddings.npy" in message and "work/iter0/pool.jsonl" in message


# --- base: an unknown model name ----------------------------------------------------------------


def test_base_unknown_model(project, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; another test may have imported it already.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    name = "no-such-org/no-such-model-xyz"
    set_params(project / "params.yaml", {"model.name": name})
    message = run_failing(project, base_stage.main, ["--out", "models/iter0"], ["models/iter0"])
    assert name in message
    assert "model.name" in message


# --- the file system refuses: one line, nothing half-written -------------------------------------


def test_an_output_folder_that_cannot_be_made(project):
    (project / "work").write_text("a file where the work folder should be")
    message = run_failing(project, seed_stage.main, ["--out", SEED_OUT, "--metrics", SEED_METRICS], [SEED_METRICS])
    assert message.startswith("error: work") and ("Not a directory" in message or "File exists" in message)


def test_a_full_disk(project, monkeypatch):
    import errno
    import os

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(os, "replace", no_space)
    message = run_failing(project, seed_stage.main, ["--out", SEED_OUT, "--metrics", SEED_METRICS],
                          [SEED_OUT, SEED_METRICS])
    assert message == f"error: {SEED_OUT}: No space left on device"


def test_a_full_disk_while_writing_names_the_file(project, monkeypatch):
    """A write on a full disk raises "No space left on device" with no file name: the line names the output."""
    import errno
    import os
    import pathlib

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write(2) reports it: no file named

    monkeypatch.setattr(pathlib.Path, "write_text", no_space)
    message = run_failing(project, seed_stage.main, ["--out", SEED_OUT, "--metrics", SEED_METRICS],
                          [SEED_OUT, SEED_METRICS])
    assert message == f"error: {SEED_OUT}: No space left on device"


# --- check: params.yaml and the inputs DVC cannot hash, before any stage ---------------------------


def test_check_refuses_a_name_that_would_become_a_path_outside_the_project(project):
    from stages import check as check_stage

    set_params(project / "params.yaml", {"judges.check": ["../../somewhere"]})
    message = run_failing(project, check_stage.main, ["--out", "work/check"], ["work/check"])
    assert "judges.check[] must be one of" in message and "'../../somewhere'" in message
