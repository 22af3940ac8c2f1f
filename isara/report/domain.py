"""The report's domain table: each method's win rates against the base model and sft_seed on the
domain's held-out prompts, and its similarity to their reference answers, every number with its 95%
interval, and the pairwise judge's measured accuracy beside them (pure rendering)."""

from __future__ import annotations

from isara.eval.domain import BASELINE_LABELS, verdict
from isara.report.table import MISSING, method_label

COLUMNS = [*((f"{key}_vs_{label}", f"{title} vs {label}") for label in BASELINE_LABELS.values()
             for key, title in (("win_rate", "win rate"), ("lc_win_rate", "length-controlled"))),
           ("rougeL", "ROUGE-L to reference"), ("embedding_similarity", "embedding similarity to reference")]


def _cell(result: dict, key: str) -> str:
    value, ci = result.get(key), result.get(f"{key}_ci95")
    if not isinstance(value, (int, float)):
        return MISSING
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def judge_line(results: list[dict]) -> str:
    """Who judged the win rates, and how accurate it measured itself (judge@pairwise)."""
    judge = next((r.get("judge") for r in results if r.get("judge")), "?")
    error = next((r.get("judge_error") for r in results if r.get("judge_error")), None)
    if not error:
        return (f"Judge: {judge}; its accuracy was not measured (add pairwise to judges.check): "
                "read the win rates as unverified.")
    near = " (not better than chance)" if error.get("near_chance") else ""
    return (f"Judge: {judge}; its measured accuracy {error.get('accuracy', 0):.3f} on {error.get('n', '?')} "
            f"hh-rlhf harmless-base chosen/rejected pairs, chance {error.get('chance', 0.5):.3f}{near}.")


def domain_table(files: dict[str, dict], methods: list[str]) -> str:
    """Markdown, or "" when no method has domain results (`files`: method -> its domain metrics)."""
    measured = [m for m in methods if (files.get(m) or {}).get("n")]
    if not measured:
        return ""
    head = ["method", "n", *(title for _, title in COLUMNS), "mean words"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for m in measured:
        r = files[m]
        lines.append("| " + " | ".join([method_label(m), str(r["n"]), *(_cell(r, key) for key, _ in COLUMNS),
                                        f"{r.get('mean_output_words', 0):.1f}"]) + " |")
    lines += ["", "Win rate: each answer against the base model's (pretrained) and sft_seed's to the same prompt, "
              "judged in both orders, a tie counting half; length-controlled: the win rate at equal length "
              "(AlpacaEval 2's regression); ROUGE-L F and embedding cosine to the reference answers of the prompts "
              "that have one. Brackets: 95% bootstrap intervals over prompts. A method compared with itself "
              "ties every prompt (0.500).", "", judge_line([files[m] for m in measured])]
    helped = [line for m in measured for line in [helped_line(m, files[m])] if line]
    if helped:
        lines += ["", "Did it help? Each method's similarity to the reference answers minus each baseline's, over "
                  "the same prompts (paired bootstrap 95%); better or worse only when every interval agrees:", "",
                  *helped]
    return "\n".join(lines)


def _difference(d: dict) -> str:
    return f"{d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def helped_line(method: str, result: dict) -> str:
    """"- METHOD against sft_seed: ROUGE-L ..., embedding similarity ...: better; against base: ..."
    from the domain suite's paired differences ("" when there were no reference answers)."""
    versus = ((result.get("reference") or {}).get("vs")) or {}
    parts = [f"against {label}: ROUGE-L {_difference(d['rougeL'])}, embedding similarity "
             f"{_difference(d['embedding_similarity'])}: **{verdict(d)}**"
             for label, d in versus.items() if BASELINE_LABELS.get(method) != label]
    return f"- {method_label(method)} " + "; ".join(parts) if parts else ""
