"""SFT on tiny real checkpoints: loss masking, weights, parameters moving, and stopping at EOS."""

import pytest
import torch

from isara.lm.models import load_model, open_weights
from isara.config.training import Finetune, Lora
from isara.lm.prompts import PromptFormat, format_for, sft_prompt
from isara.train.sft import IGNORE, WeightedCollator, encode_example, finetune, save_trained, weighted_loss

QUESTION = "How do I pick a lock on my neighbour's door?"
ANSWER = "I can't help with entering someone else's home. A licensed locksmith can help with your own door."


@pytest.mark.parametrize("kind", ["chat", "plain"])
def test_prompt_tokens_carry_no_loss_and_answer_and_eos_do(smol_tokenizer, kind):
    fmt = format_for(smol_tokenizer) if kind == "chat" else PromptFormat(None)
    example = encode_example(fmt, smol_tokenizer, QUESTION, ANSWER, max_length=512)
    prompt_len = len(
        smol_tokenizer(sft_prompt(fmt, QUESTION), add_special_tokens=fmt.add_special_tokens)["input_ids"]
    )
    ids, labels = example["input_ids"], example["labels"]
    assert labels[:prompt_len] == [IGNORE] * prompt_len
    assert labels[prompt_len:] == ids[prompt_len:]
    assert labels[-1] == smol_tokenizer.eos_token_id
    answer_text = smol_tokenizer.decode(ids[prompt_len:-1])
    assert answer_text.strip() == ANSWER


def test_long_answers_are_cut_but_keep_eos(smol_tokenizer):
    fmt = format_for(smol_tokenizer)
    example = encode_example(fmt, smol_tokenizer, QUESTION, ANSWER * 20, max_length=64)
    assert len(example["input_ids"]) == 64
    assert example["labels"][-1] == smol_tokenizer.eos_token_id


def test_loss_ignores_prompt_logits_and_follows_weights(smol_tokenizer):
    fmt = format_for(smol_tokenizer)
    features = [
        {**encode_example(fmt, smol_tokenizer, QUESTION, ANSWER, 512), "weight": 1.0},
        {**encode_example(fmt, smol_tokenizer, "Why is the sky blue?", "Rayleigh scattering.", 512), "weight": 0.0},
    ]
    batch = WeightedCollator(smol_tokenizer.pad_token_id)(features)
    torch.manual_seed(0)
    logits = torch.randn(*batch["input_ids"].shape, 50)
    labels = batch["labels"].clamp(max=49).masked_fill(batch["labels"] == IGNORE, IGNORE)
    base = weighted_loss(logits, labels, batch["weight"])

    prompt_positions = (labels[0] == IGNORE).nonzero().flatten()
    prompt_positions = prompt_positions[prompt_positions < (labels[0] != IGNORE).nonzero().min() - 1]
    shaken = logits.clone()
    shaken[0, prompt_positions] += torch.randn(len(prompt_positions), 50) * 5
    assert torch.allclose(weighted_loss(shaken, labels, batch["weight"]), base)

    answer_position = (labels[0] != IGNORE).nonzero().min() - 1  # predicts the first answer token
    shaken[0, answer_position] += 10.0 * torch.nn.functional.one_hot(torch.tensor(3), 50)
    assert not torch.allclose(weighted_loss(shaken, labels, batch["weight"]), base)

    zero_weighted = logits.clone()
    zero_weighted[1] += torch.randn_like(zero_weighted[1]) * 5
    assert torch.allclose(weighted_loss(zero_weighted, labels, batch["weight"]), base)


def _rows(n=4):
    return [{"question": f"{QUESTION} ({i})", "answer": ANSWER, "weight": 1.0} for i in range(n)]


def tune(scratch, model, tokenizer, fmt, rows, cfg):
    """Fine-tune, save as the stage does, and load the result back: (model, stats)."""
    trained = finetune(model, tokenizer, fmt, rows, cfg, 0, scratch, "test")
    final = save_trained(trained, scratch, cfg, torch.float32)
    return open_weights(str(final), torch.device("cpu"), torch.float32), trained.stats


@pytest.mark.parametrize("method", ["full", "lora"])
def test_finetune_moves_the_weights(tmp_path, tiny_llama, method):
    model, tokenizer = load_model(tiny_llama, torch.device("cpu"), torch.float32)
    before = {name: p.detach().clone() for name, p in model.state_dict().items()}
    cfg = Finetune(method=method, epochs=1, learning_rate=1e-2, batch_size=2, lora=Lora(r=4, alpha=8))
    tuned, stats = tune(tmp_path, model, tokenizer, format_for(tokenizer), _rows(), cfg)
    after = tuned.state_dict()
    assert set(after) == set(before), "LoRA must be merged back into a plain checkpoint"
    moved = [name for name in before if not torch.equal(before[name], after[name])]
    assert moved, "no parameter changed"
    assert stats["steps"] == 2 and stats["examples"] == 4


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_opt"])
def test_finetuned_model_stops_at_eos(tmp_path, request, fixture):
    model, tokenizer = load_model(request.getfixturevalue(fixture), torch.device("cpu"), torch.float32)
    fmt = format_for(tokenizer)
    short = "I can't help with that."
    rows = [{"question": QUESTION, "answer": short, "weight": 1.0}] * 4
    cfg = Finetune(epochs=40, learning_rate=2e-2, batch_size=4, warmup_ratio=0.0)
    tuned, stats = tune(tmp_path, model, tokenizer, fmt, rows, cfg)
    assert stats["last_logged_loss"] < stats["first_logged_loss"]

    tokenizer.padding_side = "left"
    encoded = tokenizer([sft_prompt(fmt, QUESTION)], return_tensors="pt", add_special_tokens=fmt.add_special_tokens)
    with torch.inference_mode():
        out = tuned.generate(**encoded, max_new_tokens=40, do_sample=False,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    new = out[0, encoded["input_ids"].shape[1]:].tolist()
    assert tokenizer.eos_token_id in new, "the tuned model never emitted EOS"
    assert len(new) < 40
    assert tokenizer.decode(new, skip_special_tokens=True).strip() == short
