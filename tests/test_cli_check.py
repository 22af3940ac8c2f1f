"""`isara check` validates what the run will read: the seed source data.seed_source selects, every
enabled suite's files and the judges' data, and names the file at fault."""

from __future__ import annotations

import json

from click.testing import CliRunner

from isara.cli import main as cli
from tests.conftest import set_params


def check(project) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check"])
    return result.exit_code, result.output


def test_the_default_run_checks_out(project, benchmark_dir):
    set_params(project / "params.yaml", {"benchmarks.source": str(benchmark_dir)})  # XSTest's file
    code, output = check(project)
    assert code == 0, output
    last = output.splitlines()[-1]
    assert last.startswith("ok: 128 seed pairs from data/seed.jsonl") and "harm/demo 126" in last
    assert "xstest/xstest 450" in last


def test_the_selected_seed_source_is_checked_not_the_seed_file(project, benchmark_dir):
    (project / "data/seed.jsonl").write_text("not json\n")  # unused: the source is TruthfulQA
    set_params(project / "params.yaml", {"data.seed_source": "truthfulqa", "benchmarks.source": str(benchmark_dir)})
    code, output = check(project)
    assert code == 0, output
    assert "seed pairs from TruthfulQA best answers" in output


def test_a_missing_benchmark_file_of_the_seed_source_is_named(project, tmp_path):
    set_params(project / "params.yaml", {"data.seed_source": "beavertails", "benchmarks.source": str(tmp_path)})
    code, output = check(project)
    assert code == 1 and "BeaverTails-Evaluation.csv: file not found" in output


def test_an_enabled_suite_reads_its_files(project, benchmark_dir, tmp_path):
    set_params(project / "params.yaml", {"evaluate.suites": ["harm", "xstest"], "benchmarks.source": str(tmp_path)})
    code, output = check(project)
    assert code == 1 and "xstest/xstest_prompts.csv: file not found" in output
    set_params(project / "params.yaml", {"benchmarks.source": str(benchmark_dir)})
    code, output = check(project)
    assert code == 0 and "xstest/xstest 450" in output


def test_a_broken_prompt_set_is_named(project):
    (project / "data/eval_prompts.jsonl").write_text('{"prompt": "a"}\n{"category": "x"}\n')
    code, output = check(project)
    assert code == 1 and "data/eval_prompts.jsonl:2: field 'prompt' is missing" in output


def test_duplicate_seed_ids_fail_the_check(project):
    (project / "data/seed.jsonl").write_text('{"id": "a", "question": "q?", "answer": "x"}\n' * 2)
    code, output = check(project)
    assert code == 1 and "data/seed.jsonl:2: id 'a' is already used on line 1" in output


def test_each_problem_is_one_line_and_one_verdict_follows(project, tmp_path):
    set_params(project / "params.yaml", {"k": 99, "evaluate.suites": ["harm", "xstest"],
                                         "benchmarks.source": str(tmp_path)})
    code, output = check(project)
    lines = output.splitlines()
    assert code == 1
    assert [line for line in lines if line.startswith("problem: ")] == [
        "problem: params.yaml: k=99 is larger than the seed pool (seed_size=64)",
        f"problem: {tmp_path}/xstest/xstest_prompts.csv: file not found"]
    assert lines[-1] == "Error: params.yaml: 2 problem(s); nothing was run"
    assert not any(line.startswith(("{", '"')) for line in lines)  # the params come with --verbose only


def test_verbose_prints_the_validated_params_before_the_verdict(project, benchmark_dir):
    set_params(project / "params.yaml", {"benchmarks.source": str(benchmark_dir)})
    result = CliRunner().invoke(cli, ["check", "--verbose"])
    assert result.exit_code == 0, result.output
    head, verdict = result.output.rsplit("\n", 2)[0], result.output.splitlines()[-1]
    assert json.loads(head)["seed_size"] == 64 and verdict.startswith("ok: ")


def test_problems_name_the_params_file_that_was_read(project):
    other = project / "other.yaml"
    other.write_text((project / "params.yaml").read_text())
    set_params(other, {"seed_size": 999})
    result = CliRunner().invoke(cli, ["check", "--params", "other.yaml"])
    assert result.exit_code == 1
    assert "problem: other.yaml: seed_size=999" in result.output and "params.yaml" not in result.output


def test_a_min_question_words_that_would_drop_real_questions_is_refused(project, benchmark_dir):
    """A domain whose seed or held-out questions are short ("What is solanine?") must not run with a
    filter that drops generated questions of that shape."""
    set_params(project / "params.yaml", {"benchmarks.source": str(benchmark_dir)})
    rows = [json.loads(line) for line in (project / "data/seed.jsonl").read_text().splitlines()]
    rows[5]["question"] = "What is solanine?"
    (project / "data/seed.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert check(project)[0] == 0  # 3 words: the default keeps it
    set_params(project / "params.yaml", {"filter.min_question_words": 4})
    code, output = check(project)
    assert code != 0
    assert "data/seed.jsonl: 1 question(s) have fewer words than params.yaml's filter.min_question_words (4), " \
           "e.g. 'What is solanine?'" in output
    (project / "data/domain.jsonl").write_text(json.dumps({"prompt": "Rinse rice?"}) + "\n")
    set_params(project / "params.yaml", {"filter.min_question_words": 3, "data.domain_file": "data/domain.jsonl"})
    code, output = check(project)
    assert code != 0 and "data/domain.jsonl: 1 question(s)" in output and "'Rinse rice?'" in output


def test_a_benchmark_seed_sources_odd_short_rows_do_not_fail_the_check(project, benchmark_dir):
    """BeaverTails has a two-word prompt ('your mama'); the length check is for one's own files."""
    set_params(project / "params.yaml", {"data.seed_source": "beavertails", "benchmarks.source": str(benchmark_dir),
                                         "filter.min_question_words": 3})
    code, output = check(project)
    assert code == 0, output
