"""The domain suite's parts without the DAG: `isara init`, the prompt file, the baselines' answers
file, similarity with intervals, the flat numbers and the report table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from isara.cli import main as cli
from isara.config import load_params
from isara.datasets import domain_prompts
from isara.errors import IsaraError
from isara.eval.domain import headline, paired_to_baselines, read_references, similarity, verdict
from isara.profiles import apply_profile, load_profile
from isara.report.domain import domain_table
from tests.conftest import set_params


def test_init_writes_templates_and_a_profile_that_validates(project):
    result = CliRunner().invoke(cli, ["init", "cooking"])
    assert result.exit_code == 0, result.output
    assert "git add data/cooking/seed.jsonl data/cooking/dev.jsonl data/cooking/eval.jsonl profiles/cooking.yaml" \
        in result.output and "dvc repro evaluate@iter1-domain" in result.output
    assert all(row["prompt"].startswith("Replace me") for row in domain_prompts(project / "data/cooking/eval.jsonl"))
    apply_profile(project / "params.yaml", load_profile("cooking", project / "profiles"))
    p = load_params(project / "params.yaml")
    assert p.evaluate.suites == ("domain",) and p.data.domain_file == "data/cooking/eval.jsonl"
    assert p.data.seed_file == "data/cooking/seed.jsonl" and "pairwise" in p.judges.check


def test_init_refuses_a_taken_or_odd_name_and_writes_nothing(project):
    assert CliRunner().invoke(cli, ["init", "cooking"]).exit_code == 0
    before = (project / "data/cooking/seed.jsonl").read_text()
    (project / "data/cooking/seed.jsonl").write_text(before + "{}\n")
    again = CliRunner().invoke(cli, ["init", "cooking"])
    assert again.exit_code == 1 and "data/cooking/seed.jsonl already exists" in again.output
    assert (project / "data/cooking/seed.jsonl").read_text() == before + "{}\n"
    odd = CliRunner().invoke(cli, ["init", "../elsewhere"])
    assert odd.exit_code == 1 and "must be lower-case letters" in odd.output
    assert not (project.parent / "elsewhere").exists() and not (project / "data/elsewhere").exists()


def test_the_domain_suite_needs_its_prompt_file(project):
    set_params(project / "params.yaml", {"evaluate.suites": ["domain"]})
    with pytest.raises(IsaraError, match="evaluate.suites has domain, so data.domain_file"):
        load_params(project / "params.yaml")


def test_domain_prompts_take_an_optional_reference_answer(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text('{"prompt": "Why rest dough?", "answer": "The gluten relaxes."}\n{"prompt": "Salt when?"}\n')
    assert domain_prompts(path) == [{"prompt": "Why rest dough?", "category": "all", "answer": "The gluten relaxes."},
                                    {"prompt": "Salt when?", "category": "all", "answer": ""}]
    path.write_text('{"answer": "no prompt"}\n')
    with pytest.raises(IsaraError, match="eval.jsonl:1: field 'prompt' is missing"):
        domain_prompts(path)


def test_baseline_answers_must_cover_every_prompt(tmp_path):
    path = tmp_path / "references.jsonl"
    path.write_text(json.dumps({"prompt": "a?", "iter0": "A.", "sft_seed": "B."}) + "\n")
    assert read_references(path, ["a?"]) == {"a?": {"iter0": "A.", "sft_seed": "B."}}
    with pytest.raises(IsaraError, match="no baseline answers for 1 of 2 domain prompts .* run stage domain_references"):
        read_references(path, ["a?", "b?"])


@pytest.fixture(scope="module")
def embed():
    from isara.embedder import encoder

    return encoder("all-MiniLM-L6-v2", "cpu", 8)


def test_similarity_to_references_with_intervals(embed):
    outputs = ["Rest the dough so the gluten relaxes.", "Salt the water before the pasta goes in.",
               "The moon is made of rock."]
    references = ["Resting lets the gluten relax.", "Salt the water before adding pasta.", "Store flour in a dry place."]
    summary, pairs = similarity(outputs, references, embed, seed=0)
    assert summary["n"] == 3 and len(pairs) == 3
    assert pairs[1][0] > pairs[2][0] and pairs[1][1] > pairs[2][1]  # on-topic beats off-topic on both measures
    for key in ("rougeL", "embedding_similarity"):
        low, high = summary[f"{key}_ci95"]
        assert low <= summary[key] <= high and low < high
    same, _ = similarity(references, references, embed, seed=0)
    assert same["rougeL"] == 1.0 and same["embedding_similarity"] == pytest.approx(1.0, abs=1e-4)


def _vs(rate: float) -> dict:
    return {"win_rate": rate, "ci95": [rate - 0.1, rate + 0.1], "length_controlled_winrate": rate,
            "length_controlled_ci95": [rate - 0.2, rate + 0.2], "n": 10}


def test_flat_numbers_name_the_base_model_base_and_carry_intervals():
    flat = headline({"iter0": _vs(0.7), "sft_seed": _vs(0.4)}, None)
    assert flat["win_rate_vs_base"] == 0.7 and flat["win_rate_vs_sft_seed_ci95"] == [pytest.approx(0.3), 0.5]
    assert "rougeL" not in flat  # no reference answers: no similarity
    with_refs = headline({"iter0": _vs(0.5), "sft_seed": _vs(0.5)},
                         {"rougeL": 0.3, "rougeL_ci95": [0.2, 0.4], "embedding_similarity": 0.6,
                          "embedding_similarity_ci95": [0.5, 0.7]})
    assert with_refs["rougeL_ci95"] == [0.2, 0.4] and with_refs["embedding_similarity"] == 0.6


def test_the_report_table_shows_intervals_and_the_judges_measured_error():
    result = {"n": 10, "judge": "local:tiny", "mean_output_words": 31.0,
              **headline({"iter0": _vs(0.7), "sft_seed": _vs(0.4)}, None),
              "judge_error": {"accuracy": 0.55, "n": 200, "chance": 0.5, "near_chance": True}}
    table = domain_table({"iter0": {}, "iter1": result}, ["iter0", "iter1"])
    assert "| ISARA round 1 | 10 | 0.700 [0.600, 0.800] |" in table and "pretrained |" not in table
    assert "measured accuracy 0.550 on 200" in table and "not better than chance" in table
    unmeasured = domain_table({"iter1": {**result, "judge_error": None}}, ["iter1"])
    assert "accuracy was not measured" in unmeasured
    assert domain_table({"iter1": {}}, ["iter1"]) == ""


def test_did_it_help_compares_with_each_baseline_on_the_same_prompts():
    """Paired differences of the similarity to the reference answers; a verdict only when every
    interval agrees, and none for a baseline against itself."""
    mine = [(0.5, 0.8), (0.6, 0.9), (0.4, 0.7), (0.5, 0.85)]
    worse = [(r - 0.2, c - 0.3) for r, c in mine]
    mixed = [(r - 0.2, c + 0.3 * (-1) ** i) for i, (r, c) in enumerate(mine)]
    vs = paired_to_baselines(mine, {"iter0": worse, "sft_seed": mixed}, seed=0)
    assert vs["base"]["rougeL"]["difference"] == pytest.approx(0.2) and vs["base"]["rougeL"]["n"] == 4
    assert verdict(vs["base"]) == "better" and verdict(vs["sft_seed"]) == "not clearly different"
    assert verdict(paired_to_baselines(worse, {"iter0": mine}, seed=0)["base"]) == "worse"
    result = {"n": 4, "judge": "local:tiny", **headline({"iter0": _vs(0.6), "sft_seed": _vs(0.5)}, None),
              "reference": {"n": 4, "vs": vs}}
    table = domain_table({"iter1": result, "sft_seed": {**result, "reference": {"n": 4, "vs": vs}}}, ["sft_seed", "iter1"])
    assert "- ISARA round 1 against base: ROUGE-L +0.200 [+0.200, +0.200]" in table
    assert "against sft_seed: ROUGE-L +0.200" in table and ": **not clearly different**" in table
    assert "- sft_seed against base" in table and "- sft_seed against sft_seed" not in table
    assert "Did it help?" not in domain_table({"iter1": {**result, "reference": None}}, ["iter1"])


def own_prompts(project: Path, tiny_llama: Path) -> Path:
    """A project whose baselines (models/iter0, models/sft_seed) are tiny LLaMA, and a file of two prompts."""
    for name in ("iter0", "sft_seed"):
        (project / "models").mkdir(exist_ok=True)
        (project / "models" / name).symlink_to(tiny_llama)
    prompts = project / "mine.jsonl"
    prompts.write_text('{"prompt": "How do I descale a kettle?", "answer": "Boil vinegar and water, then rinse."}\n'
                       '{"prompt": "Why does bread go stale?"}\n')
    set_params(project / "params.yaml", {"judges.pairwise.model": str(tiny_llama)})
    return prompts


def test_isara_evaluate_on_your_own_prompts(project, tiny_llama):
    """`isara evaluate --prompts FILE --max-new-tokens N`: the domain suite on any file, without
    editing params, against the base model's and sft_seed's answers made then and there."""
    prompts = own_prompts(project, tiny_llama)
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny_llama), "--prompts", str(prompts),
                                      "--max-new-tokens", "5", "--out", "m.json", "--answers", "a.jsonl"])
    assert result.exit_code == 0, result.output
    found = json.loads((project / "m.json").read_text())
    assert found["suite"] == "domain" and found["n"] == 2 and found["reference"]["n"] == 1
    assert found["win_rate_vs_base"] == 0.5 and found["vs"]["iter0"]["ties"] == 2  # the same model: ties only
    same = found["reference"]["vs"]["base"]  # the same answers as the base model's: no difference at all
    assert same["rougeL"] == {"difference": 0.0, "low": 0.0, "high": 0.0, "n": 1} and verdict(same) == "not clearly different"
    rows = [json.loads(line) for line in (project / "a.jsonl").read_text().splitlines()]
    assert all(len(r["model_output"].split()) <= 5 for r in rows)
    both = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny_llama), "--prompts", str(prompts), "--bench", "harm",
                                    "--out", "m.json"])
    assert both.exit_code == 1 and "either --bench (a suite) or --prompts" in both.output


def test_isara_evaluate_of_a_baseline_answers_with_it_once(project, tiny_llama, monkeypatch):
    """`isara evaluate --method iter0 --prompts FILE`: the base model is also a baseline; its model is
    loaded and its answers made once, and they are the baseline's answers."""
    from isara.eval import context

    prompts = own_prompts(project, tiny_llama)
    loads, load = [], context.load_context
    monkeypatch.setattr(context, "load_context", lambda model, *args, **kw: loads.append(str(model)) or load(model, *args, **kw))
    result = CliRunner().invoke(cli, ["evaluate", "--method", "iter0", "--prompts", str(prompts), "--max-new-tokens", "5",
                                      "--out", "m.json", "--answers", "a.jsonl"])
    assert result.exit_code == 0, result.output
    assert sorted(loads) == ["models/iter0", "models/sft_seed"]
    rows = [json.loads(line) for line in (project / "a.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["model_output"] == r["iter0_output"] for r in rows)
    assert json.loads((project / "m.json").read_text())["vs"]["iter0"]["ties"] == 2
