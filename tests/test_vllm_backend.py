"""The vllm backend: a clear error without vLLM, the Decoding -> SamplingParams mapping, the output
mapping, and (where vLLM and a GPU are present) the real thing on a tiny checkpoint."""

import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest

from isara.config.generation import Model
from isara.errors import IsaraError
from isara.lm.completion import Completion
from isara.lm.engine import Backend, Engine
from isara.lm.generation import Decoding
from isara.lm.vllm_engine import (
    completion_of_output,
    generate_vllm,
    require_vllm,
    sampling_params_kwargs,
    serving_source,
)

SAMPLED = Decoding(max_new_tokens=48, do_sample=True, temperature=0.9, top_p=0.95, stop_strings=("\n",), seed=3)
GREEDY = Decoding(max_new_tokens=64, repetition_penalty=1.1)


@pytest.fixture
def no_vllm(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` fails even where it is installed


def test_require_vllm_without_vllm_is_one_clear_line(no_vllm):
    with pytest.raises(IsaraError) as err:
        require_vllm()
    message = str(err.value)
    assert "\n" not in message
    assert "generation.backend is 'vllm'" in message and 'pip install "isara[vllm]"' in message
    assert "CUDA" in message and "generation.backend: hf" in message


def test_engine_with_vllm_backend_without_vllm_fails_the_same(no_vllm, tiny_llama):
    with pytest.raises(IsaraError, match=r"isara\[vllm\]"):
        Engine(str(tiny_llama), Model(device="cpu"), backend=Backend("vllm"))


def test_greedy_is_temperature_zero():
    kwargs = sampling_params_kwargs(GREEDY, (2, 7), seed=11)
    assert kwargs["temperature"] == 0.0 and kwargs["top_p"] == 1.0 and kwargs["top_k"] == -1
    assert kwargs["max_tokens"] == 64 and kwargs["repetition_penalty"] == 1.1
    assert kwargs["stop"] == [] and kwargs["skip_special_tokens"] is True


def test_sampled_keeps_temperature_top_k_top_p_stops_and_seed():
    kwargs = sampling_params_kwargs(SAMPLED, (2, 7), seed=11)
    assert kwargs["temperature"] == 0.9 and kwargs["top_p"] == 0.95 and kwargs["top_k"] == 50
    assert sampling_params_kwargs(replace(SAMPLED, top_k=0), (2,), seed=0)["top_k"] == -1  # vLLM: -1 is off
    assert kwargs["stop"] == ["\n"] and kwargs["stop_token_ids"] == [2, 7] and kwargs["seed"] == 11
    assert kwargs["max_tokens"] == 48


def test_no_repeat_ngram_and_beams_are_errors():
    with pytest.raises(IsaraError, match="no_repeat_ngram_size"):
        sampling_params_kwargs(Decoding(max_new_tokens=8, no_repeat_ngram_size=4), (2,), seed=0)
    with pytest.raises(IsaraError, match="beam"):
        sampling_params_kwargs(Decoding(max_new_tokens=8, num_beams=2), (2,), seed=0)


@pytest.mark.parametrize("finish, reason, stop", [
    ("stop", None, "end"),          # the model's EOS
    ("stop", 7, "end"),             # another end-of-turn id
    ("stop", "\nQuestion:", "stop_string"),
    ("length", None, "length"),
])
def test_outputs_map_to_completions(finish, reason, stop):
    output = SimpleNamespace(text=" an answer", token_ids=[5, 6, 7], finish_reason=finish, stop_reason=reason)
    assert completion_of_output(output) == Completion(" an answer", stop, 3)


def test_aborted_output_is_an_error():
    output = SimpleNamespace(text="", token_ids=[], finish_reason="abort", stop_reason=None)
    with pytest.raises(IsaraError, match="abort"):
        completion_of_output(output)


def test_packaged_alias_cannot_be_served():
    with pytest.raises(IsaraError, match="models/iter0"):
        serving_source("smollm2-135m-instruct")


def test_an_adapter_folder_cannot_be_served(tmp_path):
    (tmp_path / "adapter_config.json").write_text('{"base_model_name_or_path": "models/iter0"}')
    with pytest.raises(IsaraError, match="finetune.save: merged"):
        serving_source(str(tmp_path))


class _FakeLLM:
    """Stands in for vllm.LLM: records what it is given, ends every request on EOS after 2 tokens."""

    built: list = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=2048))
        _FakeLLM.built.append(self)

    def generate(self, prompts, params, use_tqdm=True):
        self.prompts, self.params = prompts, params
        done = SimpleNamespace(text="ok", token_ids=[5, 2], finish_reason="stop", stop_reason=None)
        return [SimpleNamespace(outputs=[done]) for _ in prompts]


@pytest.fixture
def fake_vllm(monkeypatch):
    import isara.lm.vllm_engine as engine

    _FakeLLM.built = []
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(LLM=_FakeLLM, SamplingParams=lambda **kw: kw))
    monkeypatch.setattr(engine, "_LLMS", {})
    return _FakeLLM


def test_generate_vllm_passes_token_ids_stop_ids_and_per_id_seeds(fake_vllm, tiny_llama, smol_tokenizer):
    from transformers import GenerationConfig

    from isara.lm.generation import batch_seed
    from isara.lm.prompts import format_for
    from isara.lm.stops import stop_ids

    fmt = format_for(smol_tokenizer)
    prompts = ["How do I bake bread?", "Name a colour."]
    out = generate_vllm(str(tiny_llama), Model(dtype="bfloat16"), smol_tokenizer, fmt, prompts, SAMPLED,
                        ["q1", "q2"], 2, "test")
    assert out == [Completion("ok", "end", 2)] * 2
    again = generate_vllm(str(tiny_llama), Model(dtype="bfloat16"), smol_tokenizer, fmt, prompts[:1], GREEDY,
                          None, 2, "test")
    assert len(again) == 1 and len(fake_vllm.built) == 1  # one LLM per (model, tp, dtype)
    llm = fake_vllm.built[0]
    assert llm.kwargs == {"model": str(tiny_llama), "tensor_parallel_size": 2, "dtype": "bfloat16", "seed": 3}
    want = smol_tokenizer(prompts[0], add_special_tokens=fmt.add_special_tokens)["input_ids"]
    assert llm.prompts == [{"prompt_token_ids": want}]
    assert llm.params[0]["seed"] == batch_seed(0, ["0"]) and llm.params[0]["temperature"] == 0.0
    ends = stop_ids(GenerationConfig.from_pretrained(tiny_llama), smol_tokenizer)
    assert llm.params[0]["stop_token_ids"] == list(ends)


def test_generate_vllm_seeds_each_request_by_its_id(fake_vllm, tiny_llama, smol_tokenizer):
    from isara.lm.generation import batch_seed
    from isara.lm.prompts import format_for

    generate_vllm(str(tiny_llama), Model(), smol_tokenizer, format_for(smol_tokenizer), ["a", "b"], SAMPLED,
                  ["q1", "q2"], 1, "test")
    params = fake_vllm.built[0].params
    assert [p["seed"] for p in params] == [batch_seed(3, ["q1"]), batch_seed(3, ["q2"])]
    assert all(p["stop_token_ids"] and p["stop"] == ["\n"] for p in params)


def test_generate_vllm_refuses_too_long_prompts(fake_vllm, tiny_llama, smol_tokenizer):
    from isara.lm.prompts import format_for

    with pytest.raises(IsaraError, match="context of 2048 tokens"):
        generate_vllm(str(tiny_llama), Model(), smol_tokenizer, format_for(smol_tokenizer), ["word " * 3000],
                      GREEDY, None, 1, "test")


def test_sampling_params_accepts_the_mapping():
    vllm = pytest.importorskip("vllm")
    params = vllm.SamplingParams(**sampling_params_kwargs(SAMPLED, (2, 7), seed=11))
    assert params.temperature == 0.9 and params.top_p == 0.95 and params.seed == 11
    assert params.stop == ["\n"] and params.stop_token_ids == [2, 7] and params.max_tokens == 48
    greedy = vllm.SamplingParams(**sampling_params_kwargs(GREEDY, (2,), seed=0))
    assert greedy.temperature == 0.0 and greedy.repetition_penalty == 1.1


def test_generate_vllm_on_a_tiny_checkpoint(tiny_llama):
    pytest.importorskip("vllm")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("vLLM generation needs a CUDA GPU")
    from isara.lm.models import load_tokenizer
    from isara.lm.prompts import format_for

    tokenizer = load_tokenizer(tiny_llama)
    prompts = ["How do I bake bread?", "Name a colour.", "Why is the sky blue?"]
    for decoding in (GREEDY, SAMPLED):
        out = generate_vllm(str(tiny_llama), Model(device="cuda"), tokenizer, format_for(tokenizer), prompts,
                            decoding, ["a", "b", "c"], 1, "test")
        assert len(out) == len(prompts)
        assert all(c.stop in Completion.STOPS and 0 < c.tokens <= decoding.max_new_tokens for c in out)
