"""Whether a generation path honours every end id of a Llama-3-style model: greedy paths planted in
random weights lead each probe to one word and then one end id; a path that ignores the end id
goes on to AFTER.

A prompt ending on `<|start_header_id|>` goes on " north" then `<|end_of_text|>`, one on
`<|end_header_id|>` " south" then `<|eot_id|>`, and either end id leads to " moon". A side honours an
end id when every probe stops on it: " north", never " north moon".
"""

from __future__ import annotations

from bench.vllm_check import make_prompts

PLANT = {"<|start_header_id|>": (" north", "<|end_of_text|>"), "<|end_header_id|>": (" south", "<|eot_id|>")}
AFTER = " moon"  # where a planted end id leads: in a text, the side ran past the end
BIG = 1e4  # a planted token's embedding coordinate: it outweighs what 32 random layers add


def plant_paths(model, tokenizer) -> None:
    """Greedy steps (trigger -> word -> end id -> AFTER) in random weights: each token of a step gets one
    huge embedding coordinate of its own, which dominates the last hidden state wherever it is the
    current token; the next token's output row reads that coordinate only, with the spread every
    other row has at any other position."""
    import torch

    paths = [tokenizer([trigger, word, end, AFTER], add_special_tokens=False)["input_ids"]
             for trigger, (word, end) in PLANT.items()]
    if any(len(ids) != 1 for path in paths for ids in path):
        raise ValueError(f"each planted text ({PLANT}, {AFTER!r}) must be one token of this tokenizer")
    steps = [(here[0], following[0]) for path in paths for here, following in zip(path, path[1:])]
    embed, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    with torch.no_grad():
        read = float(head.float().std()) * head.shape[1] ** 0.5
        for _, following in steps:
            head[following] = 0
        for dim, (token, following) in enumerate(steps):
            embed[token, dim] = BIG
            head[following, dim] = read


def honoured(completions, word: str) -> dict:
    """Probes that stopped on an end id right after `word`, and probes whose text ran past it."""
    stopped = sum(c.stop == "end" and c.text.strip() == word.strip() for c in completions)
    ran_past = sum(AFTER.strip() in c.text for c in completions)
    return {"probes": len(completions), "stopped": stopped, "ran_past": ran_past}


def end_id_probes(run, tokenizer, stops, n: int) -> dict:
    """Per end id: its id, whether isara's stop ids list it, and `honoured` over `n` probes."""
    from isara.lm.generation import Decoding

    prefixes, report = make_prompts(tokenizer, n, 12), {}
    for trigger, (word, end) in PLANT.items():
        out = run([p + trigger for p in prefixes], Decoding(max_new_tokens=8), [f"{end}{i}" for i in range(n)], end)
        end_id = tokenizer.convert_tokens_to_ids(end)
        report[end] = {"id": end_id, "listed": end_id in stops, **honoured(out, word)}
    return report
