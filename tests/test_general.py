"""General instruction pairs: which source rows may be drawn, the draw, and stage `general` on the
real Self-Instruct seed tasks with the real sentence embedder."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from isara.errors import IsaraError
from isara.loop.general import candidates, draw_general
from isara.records import read_general
from tests.conftest import ROOT, set_params


def source(n: int) -> list[dict]:
    return [{"id": f"t{i}", "question": f"Write a haiku about topic {i}.", "answer": f"A haiku {i}."} for i in range(n)]


def test_candidates_leave_out_d0_questions_and_pairs_too_long_to_train_on():
    rows = source(4)
    rows[3] = {**rows[3], "answer": "word " * 600}
    d0 = [{"id": "seed-0001", "question": "  write a HAIKU about topic 1. ", "answer": "..."}]
    kept = candidates(rows, d0, max_tokens=512)
    assert [row["id"] for row in kept] == ["general-t0", "general-t2"]
    assert set(kept[0]) == {"id", "question", "answer"}


def test_the_draw_is_reproducible_in_source_order_and_skips_contaminated_rows():
    rows = candidates(source(30), [], max_tokens=512)
    close = [i % 3 == 0 for i in range(30)]
    drawn = draw_general(rows, close, 12, seed=0, where="here")
    assert drawn == draw_general(rows, close, 12, seed=0, where="here")
    assert drawn != draw_general(rows, close, 12, seed=1, where="here")
    numbers = [int(row["id"].removeprefix("general-t")) for row in drawn]
    assert numbers == sorted(numbers) and not any(n % 3 == 0 for n in numbers)
    assert {row["source"] for row in drawn} == {"general"}
    assert len(draw_general(rows, close, 20, seed=0, where="here")) == 20  # every clean row


def test_asking_for_more_than_the_clean_rows_is_one_line_naming_the_key():
    rows = candidates(source(5), [], max_tokens=512)
    with pytest.raises(IsaraError, match=r"mix.general_size=5 is larger than the 4 general pairs of here .* 1 too close"):
        draw_general(rows, [False, False, True, False, False], 5, seed=0, where="here")


@pytest.mark.parametrize("text, fragment", [
    ("", "not valid JSON"),
    ("[]", "expected a JSON object with a list 'rows'"),
    ('{"rows": [{"id": "g", "question": "q"}]}', "rows[0] must be an object whose id, question and answer"),
    ('{"rows": [{"id": "g", "question": "q", "answer": 3}]}', "rows[0] must be"),
])
def test_a_damaged_general_file_is_one_line_naming_it(tmp_path, text, fragment):
    path = tmp_path / "general.json"
    path.write_text(text)
    with pytest.raises(IsaraError, match=re.escape(f"{path}")) as err:
        read_general(path)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_stage_draws_from_self_instruct_and_drops_a_task_an_evaluation_prompt_copies(project, benchmark_dir):
    from isara.datasets import self_instruct

    tasks = self_instruct(benchmark_dir)
    planted = next(row["question"] for row in tasks if "\n" not in row["question"])
    eval_file = project / "data" / "eval_prompts.jsonl"
    eval_file.write_text(eval_file.read_text() + json.dumps({"prompt": planted, "category": "planted"}) + "\n")
    set_params(project / "params.yaml", {"benchmarks.source": str(benchmark_dir), "mix.general_size": 0})
    _run("stages/seed.py", "--out", "work/iter0/pool.jsonl", "--metrics", "work/iter0/data.json")
    _run("stages/general.py", "--seed", "work/iter0/pool.jsonl", "--out", "work/iter0/general.json")
    assert read_general(project / "work/iter0/general.json") == []

    set_params(project / "params.yaml", {"mix.general_size": 150})
    said = _run("stages/general.py", "--seed", "work/iter0/pool.jsonl", "--out", "work/iter0/general.json")
    drawn = read_general(project / "work/iter0/general.json")
    assert len(drawn) == 150 and len({row["id"] for row in drawn}) == 150
    assert all(row["id"].startswith("general-") and row["source"] == "general" for row in drawn)
    assert planted not in {row["question"] for row in drawn}
    written = json.loads((project / "work/iter0/general.json").read_text())
    assert written["contaminated"] >= 1 and written["candidates"] >= 150 + written["contaminated"]
    assert f"({written['contaminated']} too close to an evaluation prompt)" in said
