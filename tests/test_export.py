"""`isara export`: a self-contained Hugging Face folder (merged weights, tokenizer, generation config,
a model card with front matter) that transformers loads as a plain model, and a GGUF file that
transformers loads back to the same logits; refusals leave everything as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from isara.cli import main as cli
from isara.config import load_params
from isara.export_card import HUB_IDS, split_card
from isara.lm.models import open_tokenizer, open_weights
from isara.packaged import CAUSAL_LMS
from isara.train.model_card import model_card
from tests.conftest import ROOT

CPU = torch.device("cpu")
TEXT = "Hello there, how are you doing today? 12345"


def export(*args: str):
    return CliRunner().invoke(cli, ["export", *args])


def logits(model, tokenizer, text: str = TEXT) -> torch.Tensor:
    with torch.no_grad():
        return model(tokenizer(text, return_tensors="pt").input_ids).logits


def front_matter(folder: Path) -> tuple[dict, str]:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return split_card(text)


def test_an_exported_folder_loads_as_the_same_model(tiny_llama, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = export(str(tiny_llama), "--to", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "README.md"} <= {
        f.name for f in out.iterdir()}
    source, tokenizer = open_weights(str(tiny_llama), CPU, torch.float32), open_tokenizer(str(tiny_llama))
    loaded, loaded_tokenizer = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert torch.equal(logits(loaded, loaded_tokenizer), logits(source, tokenizer))
    assert loaded_tokenizer.chat_template == tokenizer.chat_template
    assert loaded.generation_config.eos_token_id == source.generation_config.eos_token_id
    fresh = tmp_path / "fresh.txt"
    fresh.write_text("x")
    assert {f.stat().st_mode & 0o777 for f in out.iterdir()} == {fresh.stat().st_mode & 0o777}  # the umask's
    front, body = front_matter(out)
    assert front == {"library_name": "transformers", "tags": ["isara"]}  # a plain folder: no base known
    assert f"from `{tiny_llama}`" in body


def test_an_adapter_folder_exports_merged(tiny_llama, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = open_weights(str(tiny_llama), CPU, torch.float32)
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                           init_lora_weights=False))
    adapter = tmp_path / "adapter"
    lora.save_pretrained(adapter)
    open_tokenizer(str(tiny_llama)).save_pretrained(adapter)  # as the finetune stage saves it
    result = export(str(adapter), "--to", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out/adapter_config.json").exists()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "out").state_dict()
    merged = open_weights(str(adapter), CPU, torch.float32).state_dict()
    plain = open_weights(str(tiny_llama), CPU, torch.float32).state_dict()
    assert set(loaded) == set(merged) and all(torch.equal(loaded[k], merged[k]) for k in merged)
    assert not torch.equal(loaded["model.layers.0.self_attn.q_proj.weight"],
                           plain["model.layers.0.self_attn.q_proj.weight"])  # the adapter is in


METRICS = {
    "xstest": {"method": "iter2", "suite": "xstest", "judge": "refusal", "judge_error": None, "n_safe": 50,
               "refusal_rate_safe": 0.28, "n_unsafe": 50, "refusal_rate_unsafe": 0.72},
    "dev": {"method": "iter2", "suite": "dev", "judge": "refusal", "n_harmful": 40, "n_safe": 40,
            "dev_harmful_rate": 0.15, "dev_over_refusal_rate": 0.175, "dev_balanced_accuracy": 0.8375},
    "truthfulqa": {},  # not measured for this method
}


@pytest.fixture
def pipeline(tmp_path, tiny_llama, monkeypatch) -> Path:
    """A project whose models/iter2 the finetune stage wrote (card included), with metrics and dvc.lock."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_llama, tmp_path / "models/iter2")
    p = load_params(ROOT / "params.yaml")
    card = model_card("iter2", "finetune@iter2", "models/iter1", p, {"rows": 98}, {"train_loss": 0.98},
                      ["metrics/methods/iter2/<suite>.json"])
    (tmp_path / "models/iter2/README.md").write_text(card)
    (tmp_path / "metrics/methods/iter2").mkdir(parents=True)
    for suite, data in METRICS.items():
        (tmp_path / f"metrics/methods/iter2/{suite}.json").write_text(json.dumps(data))
    lock = {"schema": "2.0", "stages": {"seed": {"params": {"params.yaml": {"data.seed_source": "truthfulqa"}}},
                                        "base": {"params": {"params.yaml": {"model.name": "smollm2-135m-instruct"}}}}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    return tmp_path


def test_a_method_exports_with_its_card_and_metrics(pipeline):
    from isara.eval.metrics import values
    from isara.eval.registry import SUITES

    result = export("--method", "iter2", "--to", "exported/iter2")
    assert result.exit_code == 0, result.output
    front, body = front_matter(pipeline / "exported/iter2")
    assert front["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # params' smollm2-135m-instruct
    assert front["datasets"] == ["truthfulqa/truthful_qa"] and front["library_name"] == "transformers"
    assert front["tags"] == ["isara"]
    assert body == (pipeline / "models/iter2/README.md").read_text()  # the stage's card, kept whole
    [entry] = front["model-index"]
    assert entry["name"] == "iter2"
    assert [r["dataset"]["type"] for r in entry["results"]] == ["xstest", "dev"]
    for found in entry["results"]:
        declared = values(SUITES[found["dataset"]["type"]], METRICS[found["dataset"]["type"]])
        assert [(m["type"], m["value"]) for m in found["metrics"]] == [(v.column, v.value) for v in declared]


def test_a_pipeline_model_from_a_local_seed_file_names_no_dataset(pipeline):
    (pipeline / "dvc.lock").write_text(yaml.safe_dump({"stages": {"seed": {"params": {"params.yaml": {
        "data.seed_source": "file"}}}}}))
    shutil.rmtree(pipeline / "metrics")
    assert export("--method", "iter2", "--to", "out").exit_code == 0
    front, _ = front_matter(pipeline / "out")
    assert "datasets" not in front and "model-index" not in front and front["base_model"]


def test_the_pretrained_method_is_its_own_base_trained_on_nothing_here(pipeline, tiny_llama):
    shutil.copytree(tiny_llama, pipeline / "models/iter0")  # the base stage's folder: no card
    assert export("--method", "iter0", "--to", "out").exit_code == 0
    front, _ = front_matter(pipeline / "out")
    assert front["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # dvc.lock's base stage model.name
    assert "datasets" not in front and "model-index" not in front


def test_every_packaged_alias_has_its_hub_id():
    assert set(HUB_IDS) == set(CAUSAL_LMS)


def test_a_folder_in_use_is_refused_and_left_alone(tiny_llama, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = export(str(tiny_llama), "--to", str(out))
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "not empty" in result.output and "--force" in result.output
    assert [f.name for f in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out"]  # no temporary sibling left
    assert export(str(tiny_llama), "--to", str(out), "--force").exit_code == 0
    assert not (out / "notes.txt").exists() and (out / "config.json").is_file()


def test_gguf_of_an_architecture_it_cannot_write_is_refused_first(tiny_opt, tmp_path):
    result = export(str(tiny_opt), "--to", str(tmp_path / "out"), "--gguf")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "LLaMA-architecture models only" in result.output and "'opt'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_pre_tokenizers_get_llama_cpp_names():
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

    from isara.errors import IsaraError
    from isara.export_gguf import pre_tokenizer_name

    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    assert pre_tokenizer_name(byte_level) == "gpt-2"
    digits = {"type": "Digits", "individual_digits": True}
    assert pre_tokenizer_name({"type": "Sequence", "pretokenizers": [digits, byte_level]}) == "smollm"
    split = {"type": "Split", "pattern": {"Regex": GGUF_PRE_TOKENIZER_SPLITS["llama-bpe"]}, "behavior": "Isolated"}
    llama3 = pre_tokenizer_name({"type": "Sequence", "pretokenizers": [split, {**byte_level, "use_regex": False}]})
    assert GGUF_PRE_TOKENIZER_SPLITS[llama3] == GGUF_PRE_TOKENIZER_SPLITS["llama-bpe"]
    with pytest.raises(IsaraError, match="no llama.cpp name"):
        pre_tokenizer_name({"type": "Metaspace", "replacement": "\u2581"})


def gguf_alone(out: Path, tmp_path: Path) -> Path:
    """The GGUF in a folder of its own: transformers reads a GGUF's tokenizer only where no
    tokenizer.json sits beside it."""
    alone = tmp_path / "gguf-alone"
    alone.mkdir()
    shutil.copy(out / "model.gguf", alone / "model.gguf")
    return alone


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_llama3"])
def test_gguf_loads_back_to_the_same_model_and_tokenizer(fixture, request, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source_dir = request.getfixturevalue(fixture)
    result = export(str(source_dir), "--to", str(tmp_path / "out"), "--gguf", "--gguf-type", "f32")
    assert result.exit_code == 0, result.output
    source, tokenizer = open_weights(str(source_dir), CPU, torch.float32), open_tokenizer(str(source_dir))
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "out", gguf_file="model.gguf", dtype=torch.float32)
    assert loaded.config.tie_word_embeddings == source.config.tie_word_embeddings
    assert torch.equal(logits(loaded, tokenizer), logits(source, tokenizer))
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": TEXT}], tokenize=False,
                                           add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    greedy = dict(max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert torch.equal(loaded.generate(ids, **greedy), source.generate(ids, **greedy))

    from_gguf = AutoTokenizer.from_pretrained(gguf_alone(tmp_path / "out", tmp_path), gguf_file="model.gguf")
    assert from_gguf(prompt)["input_ids"] == tokenizer(prompt)["input_ids"]
    assert from_gguf(TEXT)["input_ids"] == tokenizer(TEXT)["input_ids"]
    assert (from_gguf.bos_token, from_gguf.eos_token, from_gguf.pad_token) == (
        tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token)
    assert from_gguf.chat_template == tokenizer.chat_template


def test_f16_gguf_holds_the_weights_rounded_to_half(tiny_llama, tmp_path):
    from transformers import AutoModelForCausalLM

    assert export(str(tiny_llama), "--to", str(tmp_path / "out"), "--gguf").exit_code == 0  # f16 by default
    source, tokenizer = open_weights(str(tiny_llama), CPU, torch.float32), open_tokenizer(str(tiny_llama))
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "out", gguf_file="model.gguf", dtype=torch.float32)
    weights, rounded = loaded.state_dict(), source.state_dict()
    for key, value in rounded.items():  # 2-D weights in float16, the 1-D norms in float32
        assert torch.equal(weights[key], value.half().float() if value.dim() > 1 else value), key
    assert torch.allclose(logits(loaded, tokenizer), logits(source, tokenizer), atol=2e-3, rtol=1e-2)
