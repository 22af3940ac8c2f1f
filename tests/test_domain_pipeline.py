"""A new domain end to end on the tiny profile: `isara init`, the user's own files, one round by
DVC target, then the report: the domain suite's win rates and similarity with intervals, no harm
numbers, and nothing init wrote left out of git."""

from __future__ import annotations

import json

import pytest

from isara.profiles import apply_profile, load_profile
from tests.pipeline_repo import dvc, make_repo, ran_stages, run

pytestmark = pytest.mark.pipeline

TOPICS = ("green tea", "black tea", "oolong", "chai", "matcha", "rooibos", "earl grey", "jasmine tea",
          "mint tea", "iced tea", "pu-erh", "white tea", "chamomile", "yerba mate")


def toy_domain(repo) -> list[str]:
    """A tea-shop help desk: `isara init tea`, its template rows replaced as a user would."""
    out = run(repo, "isara", "init", "tea")
    added = out.split("git add ", 1)[1].splitlines()[0].split()
    seed = [{"question": f"How hot should the water be for {t}?", "answer": f"Brew {t} just off the boil. Steep it "
             f"for three minutes, then taste."} for t in TOPICS]
    held_out = [{"prompt": f"How long can I keep {t} once the tin is open?", "category": "storage",
                 "answer": f"Keep {t} sealed and dry; it stays fresh for about six months."} for t in TOPICS[:4]]
    held_out += [{"prompt": f"Can I add milk to {t}?", "category": "serving"} for t in TOPICS[4:6]]
    for name, rows in (("seed", seed), ("dev", held_out[:2]), ("eval", held_out)):
        (repo / f"data/tea/{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return added


def test_a_new_domain_reports_win_rates_and_similarity_with_intervals(tmp_path, tiny_llama, benchmark_dir):
    repo = make_repo(tmp_path, tiny_llama)
    added = toy_domain(repo)
    assert sorted(added) == ["data/tea/dev.jsonl", "data/tea/eval.jsonl", "data/tea/seed.jsonl", "profiles/tea.yaml"]
    run(repo, "git", "add", *added)
    run(repo, "git", "commit", "-qm", "the tea domain")
    assert run(repo, "git", "status", "--porcelain") == ""  # init left nothing it did not name
    apply_profile(repo / "params.yaml", {**load_profile("tea", repo / "profiles"), "benchmarks.source": str(benchmark_dir),
                                          "judges.check_limit": 8, "evaluate.max_new_tokens_by_suite.domain": 12})
    ran = ran_stages(dvc(repo, "repro", "evaluate@iter1-domain"))
    assert {"domain_references", "evaluate@iter1-domain", "finetune@iter1", "judge@pairwise"} <= ran
    assert not ran & {"finetune@iter2", "evaluate@iter2-domain", "generate@oneshot"}  # one round
    result = json.loads((repo / "metrics/methods/iter1/domain.json").read_text())
    assert result["n"] == 6 and result["reference"]["n"] == 4
    for key in ("win_rate_vs_base", "lc_win_rate_vs_base", "win_rate_vs_sft_seed", "rougeL", "embedding_similarity"):
        low, high = result[f"{key}_ci95"]
        assert low <= result[key] <= high, key
    assert result["vs"]["iter0"]["wins"] + result["vs"]["iter0"]["ties"] + result["vs"]["iter0"]["losses"] == 6
    assert result["judge_error"]["n"] == 8  # the judge's measured accuracy travels with its win rates
    rows = [json.loads(line) for line in (repo / "reports/iter1/domain.jsonl").read_text().splitlines()]
    assert [("rougeL" in r) for r in rows] == [True] * 4 + [False] * 2
    assert all(isinstance(r["iter0_output"], str) and isinstance(r["sft_seed_output"], str) for r in rows)

    stale = repo / "metrics/methods/oneshot/data.json"  # as an earlier, full run would have left it in git
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text(json.dumps({"seed_size": 12, "pool_size": 99, "scaling_ratio": 8.25}))
    said = run(repo, "isara", "report")
    assert "left out, their stages not up to date (dvc status): the files of" in said and "oneshot" in said
    report = (repo / "report/report.md").read_text()
    section = report.split("## The domain's prompts, with uncertainty", 1)[1].split("\n## ", 1)[0]
    assert "| ISARA round 1 | 6 | " in section and "measured accuracy" in section
    assert section.count("[") >= 5  # every number with its interval
    measured = report.split("## Example generations")[0].lower().replace("harmless-base", "")
    assert "harm" not in measured and "refus" not in measured  # no harm numbers for prompts that are not harmful
    summary = json.loads((repo / "metrics/summary.json").read_text())
    assert summary["win_rate_vs_base_iter1"] == result["win_rate_vs_base"]
    assert not [key for key in summary if "harm" in key or "refusal" in key]
    assert "scaling_ratio_oneshot" not in summary and summary["scaling_ratio_iter1"] >= 1.0
    untracked = run(repo, "git", "status", "--porcelain", "--untracked-files=all").splitlines()
    assert not [line for line in untracked if line[3:].startswith(("data/", "profiles/"))]
