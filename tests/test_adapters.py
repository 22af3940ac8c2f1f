"""LoRA adapter folders: one guarded walk from an adapter to its base (a loop or a tower of adapters
is one clear line at every entry), and the base a saved adapter names (models/iter0, relative to
the repository root) loading from any working directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from isara.config.training import Finetune, Lora
from isara.errors import IsaraError
from isara.train.memory import check_training_memory
from isara.lm.models import load_model, open_config, open_weights, source_stamp
from isara.lm.prompts import format_for
from isara.lm.reference import write_reference
from isara.lm.sources import ADAPTER_FILE, MAX_ADAPTERS, adapter_base, adapter_chain, name_base, trained_base
from isara.train.sft import finetune, save_trained

CPU = torch.device("cpu")


def adapter_folder(folder: Path, base: str) -> Path:
    """A folder holding only an adapter_config.json that names `base`: enough for every walk."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ADAPTER_FILE).write_text(json.dumps({"base_model_name_or_path": base, "peft_type": "LORA"}))
    return folder


ENTRIES = {
    "adapter_chain": adapter_chain,
    "source_stamp": source_stamp,
    "open_config": open_config,
    "open_weights": lambda name: open_weights(name, CPU, torch.float32),
    "load_model": lambda name: load_model(name, CPU, torch.float32),
    "check_training_memory": lambda name: check_training_memory(name, Finetune(method="lora"), torch.float32, CPU, 1),
}


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("spelling", ["absolute", "relative"])
def test_adapters_naming_each_other_are_one_line_at_every_entry(tmp_path, monkeypatch, entry, spelling):
    """a1 names a2 as its base and a2 names a1: a RecursionError used to come out of source_stamp."""
    monkeypatch.chdir(tmp_path)
    models = tmp_path / "models"
    a1, a2 = models / "a1", models / "a2"
    adapter_folder(a1, str(a2) if spelling == "absolute" else "models/a2")
    adapter_folder(a2, str(a1) if spelling == "absolute" else "models/a1")
    with pytest.raises(IsaraError) as refused:
        ENTRIES[entry](str(a1))
    message = str(refused.value)
    assert "\n" not in message and "loop" in message
    assert message.startswith(f"{a1} -> {a2} -> {a1}:"), message


def test_an_adapter_naming_itself_is_a_loop(tmp_path):
    adapter_folder(tmp_path / "a", str(tmp_path / "a"))
    with pytest.raises(IsaraError, match=rf"^{tmp_path}/a -> {tmp_path}/a: .*loop"):
        source_stamp(str(tmp_path / "a"))


def test_a_tower_taller_than_the_guard_is_refused_naming_its_folders(tmp_path, tiny_llama):
    below = str(tiny_llama)
    for i in range(MAX_ADAPTERS):
        below = str(adapter_folder(tmp_path / f"a{i}", below))
    chain = adapter_chain(below)
    assert len(chain) == MAX_ADAPTERS + 1 and chain[-1] == str(tiny_llama)  # as many as the guard allows
    top = str(adapter_folder(tmp_path / "top", below))
    for entry in ENTRIES.values():
        with pytest.raises(IsaraError) as refused:
            entry(top)
        message = str(refused.value)
        assert "\n" not in message and f"more than {MAX_ADAPTERS} adapters stacked" in message
        assert message.startswith(f"{top} -> {tmp_path / f'a{MAX_ADAPTERS - 1}'} -> ")


ROWS = [{"question": f"How do I store bleach safely? ({i})", "answer": "Cool, dry, sealed, away from children.",
         "weight": 1.0} for i in range(4)]


def test_a_saved_adapter_names_its_base_relative_to_the_repository_root(tmp_path, tiny_llama, monkeypatch):
    """The base stage's models/iter0 refers to the weights' absolute folder; an adapter trained on
    it used to name that folder, not models/iter0 as the README says."""
    project = tmp_path / "project"
    monkeypatch.chdir(project.mkdir() or project)
    write_reference(project / "models/iter0", {"source": str(tiny_llama), "kind": "folder"})
    model, tokenizer = load_model("models/iter0", CPU, torch.float32)
    cfg = Finetune(method="lora", save="adapter", epochs=1, learning_rate=5e-2, batch_size=2, save_steps=0,
                   lora=Lora(r=4, alpha=8, dropout=0.0))
    trained = finetune(model, tokenizer, format_for(tokenizer), ROWS, cfg, 0, project / "scratch", "t")
    final = save_trained(trained, project / "scratch", cfg, torch.float32)
    assert adapter_base(final) == str(tiny_llama)  # what peft records: the folder the reference leads to

    name_base(final, trained_base("models/iter0"))  # as the finetune stage writes its output
    final.rename(project / "models/iter1")
    assert adapter_base(project / "models/iter1") == "models/iter0"
    assert json.loads((project / "models/iter1" / ADAPTER_FILE).read_text())["peft_type"] == "LORA"  # kept
    assert trained_base("models/iter1") == "models/iter0"  # the next round trains the same adapter on
    here = open_weights("models/iter1", CPU, torch.float32).state_dict()

    elsewhere = tmp_path / "elsewhere"  # another working directory, with a models/iter0 of its own
    write_reference(elsewhere / "models/iter0", {"source": "no-such-org/no-such-model", "kind": "hub"})
    monkeypatch.chdir(elsewhere)
    absolute = str(project / "models/iter1")
    assert adapter_chain(absolute) == [absolute, str(tiny_llama)]  # found beside the adapter first
    there = open_weights(absolute, CPU, torch.float32).state_dict()
    assert all(torch.equal(here[k], there[k]) for k in here)
    base = load_model(tiny_llama, CPU, torch.float32)[0].state_dict()
    assert any(not torch.equal(base[k], there[k]) for k in base), "the adapter changed nothing"


def test_a_base_outside_the_project_stays_absolute_and_hub_ids_as_written(tmp_path, tiny_llama, monkeypatch):
    project = tmp_path / "project"
    monkeypatch.chdir(project.mkdir() or project)
    assert trained_base(str(tiny_llama)) == str(tiny_llama)
    assert trained_base("org/some-model") == "org/some-model"
    adapter_folder(project / "models/iter1", "org/some-model")
    assert trained_base("models/iter1") == "org/some-model"
    assert adapter_chain("models/iter1") == ["models/iter1", "org/some-model"]
    full = project / "models/full"
    full.mkdir()
    name_base(full, "models/iter0")  # a full checkpoint holds no adapter: nothing to rename
    assert not (full / ADAPTER_FILE).exists()
