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


def content_gates(rows: list[dict], model_dir: str, p, encode) -> dict[str, dict]:
    """id -> audit update of each well-formed pair (`isara.loop.gate.gate_audit`): the starting
    model's own answer to its question (zero-shot, greedy, generation.answer.max_new_tokens, cut to
    its last complete sentence) and what the selected gates make of it."""
    todo = [row for row in rows if not shape_reason(row.get("question") or "", row.get("answer") or "",
                                                    row.get("answer_finished") is not False
                                                    or not p.filter.drop_unfinished, p.filter)]
    if not todo:
        return {}
    engine = generation_engine(model_dir, p)
    decoding = Decoding(p.generation.answer.max_new_tokens)
    done = engine.generate([sft_prompt(engine.fmt, row["question"]) for row in todo], decoding,
                           [row["id"] for row in todo], desc="gate: own answers")
    own = [complete_sentences(d.text.strip()) or d.text.strip() for d in done]
    del engine
    prefer = None
    if "pairwise" in p.filter.judges:
        judge = build_pairwise_judge(p.judges.pairwise, resolve_device(p.model.device))
        prefer = lambda question, answer, mine: both_orders(judge, question, answer, mine)  # noqa: E731
    updates = gate_audit([row["question"] for row in todo], [row["answer"] for row in todo], own,
                         gates_of(p.filter.judges), encode, prefer)
    return {row["id"]: update for row, update in zip(todo, updates)}
