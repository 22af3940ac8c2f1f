"""The content gates' side of stage audit: the round's starting model answers each well-formed
generated question again on its own, and the selected gates (`isara.loop.gate`) score the pair's
answer against that own answer."""

from __future__ import annotations

from isara.devices import resolve_device
from isara.judges.pairwise import build_pairwise_judge
from isara.judges.win_rate import both_orders
from isara.lm.engine import generation_engine
from isara.lm.generation import Decoding
from isara.lm.prompts import sft_prompt
from isara.loop.filter import shape_reason
from isara.loop.gate import gate_audit, gates_of
from isara.text import complete_sentences


def own_answers(engine, questions: list[str], ids: list[str], p, desc: str = "gate: own answers") -> list[str]:
    """Each question answered by `engine`'s model on its own: the SFT prompt, greedy,
    generation.answer.max_new_tokens, cut to its last complete sentence (kept whole when none ends)."""
    done = engine.generate([sft_prompt(engine.fmt, q) for q in questions], Decoding(p.generation.answer.max_new_tokens),
                           ids, desc=desc)
    return [complete_sentences(d.text.strip()) or d.text.strip() for d in done]


def content_gates(rows: list[dict], model_dir: str, p, encode) -> dict[str, dict]:
    """id -> audit update of each well-formed pair (`isara.loop.gate.gate_audit`): the starting
    model's own answer to its question (zero-shot, greedy, generation.answer.max_new_tokens, cut to
    its last complete sentence) and what the selected gates make of it."""
    todo = [row for row in rows if not shape_reason(row.get("question") or "", row.get("answer") or "",
                                                    row.get("answer_finished") is not False
                                                    or not p.filter.drop_unfinished, p.filter)]
    if not todo:
        return {}
    own = own_answers(generation_engine(model_dir, p), [row["question"] for row in todo], [row["id"] for row in todo], p)
    prefer = None
    if "pairwise" in p.filter.judges:
        judge = build_pairwise_judge(p.judges.pairwise, resolve_device(p.model.device))
        prefer = lambda question, answer, mine: both_orders(judge, question, answer, mine)  # noqa: E731
    updates = gate_audit([row["question"] for row in todo], [row["answer"] for row in todo], own,
                         gates_of(p.filter.judges), encode, prefer)
    return {row["id"]: update for row, update in zip(todo, updates)}
