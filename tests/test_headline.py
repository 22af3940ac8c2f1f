"""The report's first table and summary from hand-made per-prompt rows: rates with intervals, the
paired differences and their McNemar p-values, and a method that refuses everything reading as such."""

from isara.report.headline import headline_rows, headline_table, method_outcomes, rounds_line, summary

HARMFUL = [f"harmful prompt {i}" for i in range(20)]
SAFE = [f"safe prompt {i}" for i in range(20)]


def rows(harmful_answered: int, safe_refused: int) -> list[dict]:
    """The first `harmful_answered` harmful prompts answered (harmful, not refused), the rest refused;
    the first `safe_refused` safe prompts refused."""
    out = [{"set": "demo", "prompt": p, "harm_refusal": 1.0 if i < harmful_answered else 0.0,
            "refused": i >= harmful_answered} for i, p in enumerate(HARMFUL)]
    return out + [{"set": "safe", "prompt": p, "refused": i < safe_refused} for i, p in enumerate(SAFE)]


def test_a_method_that_refuses_everything_reads_as_such():
    by_method = {"iter0": rows(18, 0), "sft_seed": rows(0, 20), "iter1": rows(4, 2)}
    first, caption, own = headline_rows(by_method, ["iter0", "sft_seed", "iter1"], seed=0)
    assert own == method_outcomes(by_method, ["iter0", "sft_seed", "iter1"])[0]  # what rounds_line compares
    assert caption == "demo prompts, refusal judge"
    row = {r["method"]: r for r in first}
    assert row["sft_seed"]["harmful"]["rate"] == 0.0 and row["sft_seed"]["over_refusal"]["rate"] == 1.0
    assert row["sft_seed"]["balanced_accuracy"]["value"] == 0.5  # refuses everything: chance
    assert row["iter1"]["balanced_accuracy"]["value"] == (16 / 20 + 18 / 20) / 2
    assert row["sft_seed"]["harmful"]["low"] == 0.0 and 0.1 < row["sft_seed"]["harmful"]["high"] < 0.2  # Wilson 0/20

    versus = row["iter1"]["harmful_vs_iter0"]  # 14 prompts harmful for iter0 only, none the other way
    assert versus["difference"] == (4 - 18) / 20 and (versus["b01"], versus["b10"]) == (14, 0)
    assert versus["p_value"] == 2 / 2 ** 14 and versus["high"] < 0
    assert row["iter0"]["harmful_vs_iter0"] is None
    assert row["iter1"]["over_refusal_vs_sft_seed"]["difference"] == (2 - 20) / 20

    table = headline_table(first, caption)
    lines = table.splitlines()
    assert lines[0].startswith("| method | rank | balanced accuracy | harmful rate | over-refusal |")
    assert lines[2].startswith("| ISARA round 1 | 1 |") and "| sft_seed | 3 |" in table  # ranked by balanced accuracy
    assert "**-0.700 [" in lines[2] and "p=0.500 |" in lines[2]  # significant differences in bold, the rest not


def test_the_summary_is_flat_and_names_each_method():
    first, _, _ = headline_rows({"iter0": rows(18, 0), "iter1": rows(4, 2)}, ["iter0", "iter1"], seed=0)
    runs = {"iter1": {"data": {"scaling_ratio": 1.6}, "alpaca_eval": {
        "win_rate": 0.4, "standard_error": 0.069, "length_controlled_winrate": 0.35123, "ci95": [0.3, 0.5]}},
        "iter0": {"truthfulqa": {"rougeL_diff": -0.05, "n": 100}}}
    flat = summary(first, runs, {"iter1": 39})
    assert flat["harmful_rate_iter1"] == 0.2 and flat["over_refusal_rate_iter1"] == 0.1
    assert flat["harmful_rate_iter1_low"] < 0.2 < flat["harmful_rate_iter1_high"]
    assert flat["scaling_ratio_iter1"] == 1.6 and flat["accepted_iter1"] == 39
    assert flat["win_rate_iter1"] == 0.4 and flat["standard_error_iter1"] == 0.069  # alpaca_eval's names
    assert flat["length_controlled_winrate_iter1"] == 0.3512 and flat["rougeL_diff_iter0"] == -0.05
    assert "n_iter0" not in flat and "ci95_iter1" not in flat
    assert all(isinstance(v, (int, float)) for v in flat.values())


def test_the_passes_over_d0_show_the_one_shot_confound():
    from isara.config.schema import Run
    from isara.report.headline import d0_passes, passes_line

    runs = {"iter1": Run("iter0"), "iter2": Run("iter1"), "oneshot": Run("iter0", rounds=2)}
    assert d0_passes(runs, 2.0, "previous") == {"sft_seed": 2.0, "iter1": 2.0, "iter2": 4.0, "oneshot": 2.0}
    assert d0_passes(runs, 2.0, "base")["iter2"] == 2.0
    line = passes_line(d0_passes(runs, 2.0, "previous"), ["iter0", "sft_seed", "oneshot", "iter1", "iter2"])
    assert "ISARA round 2 4, " not in line and "ISARA round 2 4." in line and "oneshot 2" in line


def test_a_round_worse_than_the_one_before_is_said_plainly():
    by_method = {"iter1": rows(4, 2), "iter2": rows(3, 12), "iter3": rows(3, 11)}
    own, _ = method_outcomes(by_method, list(by_method))
    line = rounds_line(own, ["iter1", "iter2", "iter3"], seed=0)
    # round 2 refuses 10 more safe prompts than round 1 (p = 2/2^10): worse on that axis only
    assert "ISARA round 2 is worse than ISARA round 1 on over-refusal (" in line
    assert "harmful rate -0.050" in line and "over-refusal **+0.500" in line
    assert "ISARA round 3 is not worse than ISARA round 2 on harmful rate or over-refusal" in line
    same = rounds_line(own, ["iter1", "iter3"], seed=0)
    assert "worse than ISARA round 1 on over-refusal" in same  # +0.45, p < 0.05
    assert rounds_line(own, ["iter1"], seed=0) == "" and rounds_line({}, ["iter1", "iter2"], seed=0) == ""


def test_the_summary_keys_are_those_the_suites_and_run_files_declare():
    from isara.report.headline import summary_keys

    assert summary_keys() == [("data", "scaling_ratio"), ("truthfulqa", "rougeL_diff"), ("alpaca_eval", "win_rate"),
                              ("alpaca_eval", "standard_error"), ("alpaca_eval", "length_controlled_winrate"),
                              ("dev", "dev_harmful_rate"), ("dev", "dev_over_refusal_rate"),
                              ("dev", "dev_balanced_accuracy"), ("domain", "win_rate_vs_base"),
                              ("domain", "win_rate_vs_sft_seed"), ("domain", "rougeL"), ("domain", "embedding_similarity")]
