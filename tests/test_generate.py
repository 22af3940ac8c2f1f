"""Generation on tiny real checkpoints: candidates with provenance, length-bucketed batches, every
end-of-turn id, resuming from the partial log, and N workers writing exactly what one writes."""

import json
from collections import Counter

import numpy as np
import pytest

from isara.config.generation import AnswerDecoding, Generation, Model
from isara.config.schema import Params
from isara.errors import IsaraError
from isara.lm.batching import Batching, plan_batches
from isara.lm.completion import Completion
from isara.lm.engine import Engine
from isara.lm.generation import Decoding
from isara.loop.generate import answer_of, at_odds, generate_candidates, retry_at_odds
from isara.text import complete_sentences

POOL = [
    {"id": f"s{i}", "question": f"How could someone misuse tool number {i}?", "answer": f"I can't help with misuse of tool {i}."}
    for i in range(6)
]
CONTEXTS = [{"id": f"it1-{n:04d}", "context_ids": ["s0", "s1"] if n % 2 else ["s4", "s5"]} for n in range(4)]
CPU = Model(device="cpu", dtype="float32")
PROMPTS = [f"Question {n}: " + "tell me more " * (n % 5) for n in range(10)]
SAMPLED = Decoding(6, do_sample=True, temperature=1.0, seed=7)


@pytest.fixture(scope="module")
def engine(tiny_llama):
    return Engine(tiny_llama, CPU, Batching(batch_size=3))


def _run(engine, seed=0):
    p = Params(seed=seed, k=2, generation=Generation(samples_per_iteration=4, batch_size=3))
    embedded = []

    def embed_questions(texts):
        embedded.append(list(texts))
        return np.stack([np.full(4, float(len(t) % 6)) for t in texts])

    def nearest(vector, label):  # the two pool rows whose index is closest to the fake embedding value
        return sorted(range(len(POOL)), key=lambda i: abs(i - vector[0]))[:2]

    rows = generate_candidates(engine, POOL, CONTEXTS, nearest, embed_questions, p, iteration=1)
    return rows, embedded


def test_candidates_keep_provenance_and_use_knn_contexts(engine):
    rows, embedded = _run(engine)
    assert [r["id"] for r in rows] == [c["id"] for c in CONTEXTS]
    asked = [r for r in rows if r["question"]]
    assert embedded == [[r["question"] for r in asked]] or not asked
    for row, context in zip(rows, CONTEXTS):
        assert row["iteration"] == 1
        assert row["question_context_ids"] == context["context_ids"]
        assert isinstance(row["raw_question"], str)
        if row["question"]:
            expected = sorted(range(len(POOL)), key=lambda i: abs(i - len(row["question"]) % 6))[:2]
            assert row["answer_context_ids"] == [POOL[i]["id"] for i in expected]
            assert isinstance(row["raw_answer"], str) and row["answer_stop"] in ("end", "sentence", "length")
            assert row["answer_finished"] == (row["answer_stop"] != "length")
        else:
            assert row["raw_answer"] is None and row["answer_context_ids"] == []


def test_a_labelled_pool_labels_each_question_and_answers_from_its_label(engine):
    """The prompt judge labels every asked question, and its answer examples are retrieved among
    that label only; each row keeps its context's label too."""
    p = Params(k=2, generation=Generation(samples_per_iteration=4, batch_size=3))
    asked_with = []

    def nearest(vector, label):
        asked_with.append(label)
        return [0, 1] if label == "safe" else [2, 3]

    def judge(vectors):
        return [("safe" if i % 2 == 0 else "harmful", 0.8) for i in range(len(vectors))]

    contexts = [{**c, "label": "harmful"} for c in CONTEXTS]
    rows = generate_candidates(engine, POOL, contexts, nearest,
                               lambda texts: np.ones((len(texts), 4)), p, iteration=1, judge=judge)
    asked = [r for r in rows if r["question"]]
    assert asked_with == [r["label"] for r in asked] and all(r["context_label"] == "harmful" for r in rows)
    for row in asked:
        expected = [0, 1] if row["label"] == "safe" else [2, 3]
        assert row["answer_context_ids"] == [POOL[i]["id"] for i in expected] and row["label_share"] == 0.8
    assert all(r["label"] is None for r in rows if not r["question"])


def test_at_odds_is_a_harmful_question_answered_or_a_safe_one_refused():
    decline, help_ = "I can't help with that.", "Boil vinegar and water, then rinse."
    assert at_odds("harmful", help_) and at_odds("safe", decline)
    assert not at_odds("harmful", decline) and not at_odds("safe", help_)
    assert not at_odds(None, help_) and not at_odds(None, decline)  # unlabelled: never


def test_answers_at_odds_with_their_label_are_sampled_again_until_one_fits(engine):
    """A row whose answer does not fit gets sampled answers, up to `retries`, and keeps the first that
    fits, with the try that made it; a row that fits at once is not asked again; a row no try fits
    keeps its beam answer (tries 0). Seeded: the same tries give the same answers."""
    p = Params(generation=Generation(answer=AnswerDecoding(max_new_tokens=8, retries=2)))
    fits_at = {"fits": 1, "second": 2, "never": None}  # the judge's call, per row, whose answer fits

    def retried():
        rows = [{"id": name, "label": name, "question": "q", "answer": "beam", "raw_answer": "beam",
                 "answer_stop": "end", "answer_finished": True} for name in fits_at]
        asked = Counter()

        def fits(label, answer):  # the test's label names its row
            asked[label] += 1
            return asked[label] == fits_at[label]

        retry_at_odds(engine, rows, {name: "Question: how do I clean a kettle?\nAnswer:" for name in fits_at}, p,
                      iteration=1, fits=fits)
        return {row["id"]: row for row in rows}, asked

    done, asked = retried()
    assert asked == {"fits": 1, "second": 2, "never": 3}
    assert [done[name]["answer_tries"] for name in fits_at] == [1, 2, 0]
    assert done["fits"]["answer"] == done["never"]["answer"] == "beam"
    assert done["second"]["answer"] != "beam" and done["second"]["raw_answer"] != "beam"
    assert retried()[0] == done


def test_same_seed_same_candidates_other_seed_other_questions(engine):
    first, _ = _run(engine, seed=0)
    again, _ = _run(engine, seed=0)
    other, _ = _run(engine, seed=1)
    assert first == again
    assert [r["raw_question"] for r in first] != [r["raw_question"] for r in other]


def test_a_prompt_beyond_the_models_context_is_a_clear_error(engine):
    """A huge in-context example used to become a giant allocation; now it is one line."""
    limit = engine.model.config.max_position_embeddings
    with pytest.raises(IsaraError, match=rf"exceeds the model's context of {limit} tokens"):
        engine.generate(["word " * limit], Decoding(8))


def test_batches_hold_prompts_of_one_length_and_beams_count_toward_the_size():
    lengths = [50, 10, 12, 48, 11, 300, 49]
    batches = plan_batches(lengths, new_tokens=10, beams=2, batching=Batching(batch_size=6, max_batch_tokens=10_000))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches[:2] == [[1, 4, 2], [3, 6, 0]]  # shortest first; 3 prompts x 2 beams = 6 sequences
    assert batches[2] == [5]
    tight = plan_batches(lengths, new_tokens=10, beams=1, batching=Batching(batch_size=64, max_batch_tokens=130))
    assert all(len(b) * (max(lengths[i] for i in b) + 10) <= 130 or len(b) == 1 for b in tight)
    assert [5] in tight  # alone over the token bound: a batch of its own, not an error


def test_the_same_prompts_give_the_same_completions_in_any_batching(tiny_llama):
    """Greedy output does not depend on which prompts share a batch (left padding is masked)."""
    one = Engine(tiny_llama, CPU, Batching(batch_size=1)).generate(PROMPTS, Decoding(6))
    many = Engine(tiny_llama, CPU, Batching(batch_size=8)).generate(PROMPTS, Decoding(6))
    assert [c.text for c in one] == [c.text for c in many]


def _padded(engine, prompts):
    import torch

    tok = engine.tokenizer
    rows = [tok(p, add_special_tokens=engine.fmt.add_special_tokens)["input_ids"] for p in prompts]
    width = max(map(len, rows))
    ids = torch.tensor([[tok.pad_token_id] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


def _plain_generate(engine, prompts, decoding):
    """`generate`'s own completions (its own prefill and cache) for one left-padded batch."""
    import torch

    from isara.lm.generation import completion_of
    from isara.lm.stops import stop_ids

    model, tok = engine.model, engine.tokenizer
    ids, mask = _padded(engine, prompts)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, **decoding.kwargs(), pad_token_id=tok.pad_token_id)
    stops = stop_ids(model.generation_config, tok)
    return [completion_of(t, stops, (), tok).text for t in out[:, ids.shape[1]:].tolist()]


@pytest.mark.parametrize("family", ["tiny_llama", "tiny_opt"])
@pytest.mark.parametrize("prefill_tokens", [4096, 20])
def test_beams_share_one_run_of_the_prompt_and_answer_as_generate_does(family, prefill_tokens, request):
    """Each prompt runs once (in one forward, or in groups of rows) and its beams copy its cache: the
    same beams as `generate`'s own, which runs the prompt once per beam (left-padded rows of
    different lengths in one batch)."""
    import torch

    from isara.lm.generation import prefilled

    engine = Engine(request.getfixturevalue(family), CPU, Batching(batch_size=16, prefill_tokens=prefill_tokens))
    decoding = Decoding(8, num_beams=3, repetition_penalty=1.1, no_repeat_ngram_size=3)
    ours = engine.generate(PROMPTS, decoding)
    ids, mask = _padded(engine, PROMPTS)
    with torch.inference_mode():
        cache = prefilled(engine.model, decoding, ids, mask, prefill_tokens)["cache"]
    assert cache.get_seq_length() == ids.shape[1] - 1 and cache.layers[0].keys.shape[0] == 3 * len(PROMPTS)
    assert [c.text for c in ours] == _plain_generate(engine, PROMPTS, decoding)


@pytest.mark.parametrize("family", ["tiny_llama", "tiny_opt"])
def test_prompts_run_in_groups_leave_the_cache_one_forward_leaves(family, request):
    """Grouped prefill: each group padded only to its own longest prompt, then left-padded to the
    batch's width; the cache holds what one forward over the whole batch holds at every real
    position, and greedy answers are `generate`'s own."""
    import torch

    from isara.lm.generation import prefill_groups, prefilled

    assert prefill_groups([2, 3, 3, 5, 9], 9) == [range(0, 3), range(3, 4), range(4, 5)]
    assert prefill_groups([4, 4], 1) == [range(0, 1), range(1, 2)]
    engine = Engine(request.getfixturevalue(family), CPU, Batching(batch_size=16, prefill_tokens=20))
    ids, mask = _padded(engine, PROMPTS)
    ids = torch.cat([ids[:1].roll(1, dims=1), ids])  # a prompt of one token: its group has nothing to run
    mask = torch.cat([torch.zeros_like(mask[:1]).index_fill_(1, torch.tensor([mask.shape[1] - 1]), 1), mask])
    order = mask.sum(-1).argsort(stable=True)
    ids, mask = ids[order], mask[order]
    real, width = mask[:, :-1].repeat_interleave(2, dim=0).bool(), ids.shape[1] - 1
    held = lambda states: states[:, :, :width].transpose(1, 2)[real]  # noqa: E731 (a static cache holds more)
    with torch.inference_mode():
        whole = prefilled(engine.model, Decoding(4, num_beams=2), ids, mask, 10**6)["cache"]
        for tokens in (20, 1):
            assert len(prefill_groups(mask.sum(-1).tolist(), tokens)) > 2
            grouped = prefilled(engine.model, Decoding(4, num_beams=2), ids, mask, tokens)["cache"]
            for a, b in zip(whole.layers, grouped.layers):
                assert a.keys.shape == b.keys.shape and a.values.shape == b.values.shape
                assert torch.allclose(held(a.keys), held(b.keys), atol=1e-5)
                assert torch.allclose(held(a.values), held(b.values), atol=1e-5)
    greedy = Decoding(8)
    assert [c.text for c in engine.generate(PROMPTS, greedy)] == _plain_generate(engine, PROMPTS, greedy)


def test_answers_that_end_on_the_second_end_id_are_finished(tiny_llama3):
    """Llama-3-style chat: the generation config lists <|end_of_text|> and <|eot_id|>, and the chat
    template closes turns with <|eot_id|>; generation stops on either and calls it finished."""
    from transformers import GenerationConfig

    engine = Engine(tiny_llama3, CPU)
    tokenizer, model = engine.tokenizer, engine.model
    prompt = engine.fmt.render([{"role": "user", "content": "hello there"}], True)
    free = engine.generate([prompt], Decoding(8))[0]
    assert free.stop == "length" and free.tokens == 8
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    greedy = model.generate(ids, max_new_tokens=8, do_sample=False, eos_token_id=None,
                            pad_token_id=tokenizer.pad_token_id)[0, ids.shape[1]:].tolist()
    third = greedy[2]
    assert third not in greedy[:2]
    first_end, eot = model.generation_config.eos_token_id
    assert tokenizer.convert_ids_to_tokens(eot) == "<|eot_id|>"
    model.generation_config = GenerationConfig(eos_token_id=[first_end, third], pad_token_id=tokenizer.pad_token_id)
    try:
        done = engine.generate([prompt], Decoding(8))[0]
    finally:
        model.generation_config = GenerationConfig(eos_token_id=[first_end, eot], pad_token_id=tokenizer.pad_token_id)
    assert done.stop == "end" and done.finished and done.tokens == 3
    assert done.text == tokenizer.decode(greedy[:2], skip_special_tokens=True)


def test_stop_ids_include_every_end_id_and_the_templates_end_of_turn(tiny_llama, tiny_llama3):
    from isara.lm.stops import stop_ids

    for folder, expected in ((tiny_llama3, ["<|end_of_text|>", "<|eot_id|>"]), (tiny_llama, ["<|im_end|>"])):
        engine = Engine(folder, CPU)
        found = stop_ids(engine.model.generation_config, engine.tokenizer)
        assert engine.tokenizer.convert_ids_to_tokens(list(found)) == expected


def test_a_run_continues_from_its_partial_log(tiny_llama, tmp_path):
    """Finished batches are logged as they come; a re-run after a kill (here: the log of a full run
    cut to one batch and a torn line) generates only the rest and writes the same completions."""
    engine = Engine(tiny_llama, CPU, Batching(batch_size=2))
    whole = engine.generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    log = tmp_path / "log/rank-0.jsonl"
    lines = log.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["key"] == json.loads(lines[0])["key"] for line in lines)
    log.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    resumed = engine.generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    assert resumed == whole
    again = [json.loads(line)["batch"] for line in log.read_text().splitlines()]
    assert again[0] == json.loads(lines[0])["batch"] and sorted(again) == list(range(5))


def test_a_log_of_other_work_is_never_reused(tiny_llama, tmp_path):
    engine = Engine(tiny_llama, CPU, Batching(batch_size=2))
    first = engine.generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    other_seed = Decoding(6, do_sample=True, temperature=1.0, seed=8)
    fresh = Engine(tiny_llama, CPU, Batching(batch_size=2)).generate(PROMPTS, other_seed)
    assert engine.generate(PROMPTS, other_seed, log_dir=tmp_path / "log") == fresh != first


def test_two_workers_write_what_one_writes(tiny_llama, tmp_path):
    """Batches are dealt to two processes (each with one of the two cores) and merged in prompt order."""
    one = Engine(tiny_llama, CPU, Batching(batch_size=2)).generate(PROMPTS, SAMPLED)
    two = Engine(tiny_llama, CPU, Batching(batch_size=2, workers=2)).generate(PROMPTS, SAMPLED, log_dir=tmp_path / "log")
    assert two == one
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == ["rank-0.jsonl", "rank-1.jsonl"]


def test_a_capped_answer_keeps_its_complete_sentences():
    assert complete_sentences("First one. Second one! Third is cut") == "First one. Second one!"
    assert complete_sentences('He said "stop." Then') == 'He said "stop."'
    assert complete_sentences("no end at all") == ""
    from isara.lm.prompts import PromptFormat

    fmt = PromptFormat(lambda messages, add: "")
    assert answer_of(fmt, Completion("Done. Cut", "end", 3), True) == ("Done. Cut", "end")
    assert answer_of(fmt, Completion("Done. Cut", "length", 9), True) == ("Done.", "sentence")
    assert answer_of(fmt, Completion("Done. Cut", "length", 9), False) == ("Done. Cut", "length")
    assert answer_of(fmt, Completion("nothing ends", "length", 9), True) == ("nothing ends", "length")
