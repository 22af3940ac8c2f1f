"""load_params: the repo's params.yaml loads; every bad value is an IsaraError naming its key."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from isara.errors import IsaraError
from isara.config import Params, load_params
from tests.conftest import ROOT, set_params


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    return path


def load_with(path, changes: dict) -> Params:
    set_params(path, changes)
    return load_params(path)


def test_repo_params_load():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    p = load_params(ROOT / "params.yaml")
    assert isinstance(p, Params)
    assert p.seed_size == raw["seed_size"]
    assert p.k == raw["k"]
    assert p.gamma == pytest.approx(raw["gamma"])
    assert p.rouge_threshold == pytest.approx(raw["rouge_threshold"])
    assert {name: run.prev for name, run in p.runs.items()} == {name: run["prev"] for name, run in raw["runs"].items()}
    assert list(p.methods) == list(raw["methods"])
    assert p.filter.ngram == raw["filter"]["ngram"]
    assert p.finetune.method == raw["finetune"]["method"]


def test_untouched_copy_loads(params_file):
    assert load_params(params_file) == load_params(ROOT / "params.yaml")


@pytest.mark.parametrize(
    "key, value",
    [
        ("gamma", -0.1),
        ("gamma", 1.5),
        ("rouge_threshold", 0),
        ("rouge_threshold", 0.0),
        ("rouge_threshold", 1.2),
        ("k", 0),
        ("seed_size", 0),
        ("generation.question.top_p", 0.0),
        ("generation.question.top_k", -1),
        ("generation.answer.retries", -1),
        ("generation.answer.retries", 100),
        ("generation.harmful_at", 0.4),
        ("generation.harmful_at", 1.01),
        ("generation.prefill_tokens", 0),
        ("evaluate.prefill_tokens", -5),
        ("evaluate.eval_limit.harm", -1),
        ("retrieval.min_recall", 0.0),
        ("retrieval.min_recall", 1.5),
    ],
)
def test_out_of_range_names_key(params_file, key, value):
    with pytest.raises(IsaraError) as err:
        load_with(params_file, {key: value})
    message = str(err.value)
    assert message.startswith(f"{params_file}:")
    assert re.search(rf"(^|\W){re.escape(key)}\W", message), message
    assert str(value) in message


@pytest.mark.parametrize("key, value", [
    ("gamma", float("nan")), ("rouge_threshold", float("nan")), ("finetune.learning_rate", float("inf")),
    ("gamma", float("-inf")), ("generation.question.temperature", float("nan")), ("judges.classifier.epochs", float("inf")),
    ("retrieval.min_recall", float("nan")), ("mix.max_generated_ratio", float("nan")),
])
def test_nan_and_infinity_are_refused(params_file, key, value):
    """`gamma: .nan` would train a NaN model into the cache; `rouge_threshold: .nan` would switch the filter off."""
    with pytest.raises(IsaraError, match=rf"{re.escape(key)} must be a finite number, got {value}"):
        load_with(params_file, {key: value})


@pytest.mark.parametrize("layers", [[float("nan")], [float("inf")]])
def test_nan_classifier_layers_are_refused(params_file, layers):
    with pytest.raises(IsaraError, match=r"judges.classifier.layers\[\] must be in"):
        load_with(params_file, {"judges.classifier.layers": layers})


@pytest.mark.parametrize("key, value", [
    ("seed", -1), ("seed", 5_000_000), ("seed_size", 10**9), ("k", 5000), ("generation.answer.num_beams", 1000),
    ("generation.batch_size", 10**6), ("evaluate.max_new_tokens", 10**6), ("finetune.max_length", 10**9),
    ("evaluate.eval_limit.truthfulqa", -5), ("judges.check_limit", -1), ("retrieval.n_trees", 10**5),
    ("finetune.lora.alpha", 0), ("runs.oneshot.rounds", 1000), ("retrieval.exact_below", -1),
    ("retrieval.recall_sample", 0),
    ("mix.general_size", -1),
])
def test_every_integer_is_checked_up_front(params_file, key, value):
    """seed 5000000 used to run three stages and die in generate with a traceback."""
    with pytest.raises(IsaraError, match=rf"{re.escape(key)} must be an integer in \[-?\d+, \d+\], got {value}"):
        load_with(params_file, {key: value})


@pytest.mark.parametrize("key, value, fragment", [
    ("finetune.warmup_ratio", 1.0, "finetune.warmup_ratio must be in [0.0, 1.0), got 1.0"),
    ("finetune.weight_decay", -0.1, "finetune.weight_decay must be in [0.0, 1.0], got -0.1"),
    ("mix.max_generated_ratio", -1.0, "mix.max_generated_ratio must be in [0.0, 1000.0], got -1.0"),
    ("mix.general_share", 1.0, "mix.general_share must be in [0.0, 1.0), got 1.0"),
    ("mix.general_share", -0.5, "mix.general_share must be in [0.0, 1.0), got -0.5"),
])
def test_warmup_ratio_and_weight_decay(params_file, key, value, fragment):
    """A float warmup_steps of 1.0 means one step to transformers, not a full warmup: refused."""
    with pytest.raises(IsaraError, match=re.escape(fragment)):
        load_with(params_file, {key: value})


def test_the_largest_seed_is_allowed(params_file):
    assert load_with(params_file, {"seed": 4_294_966}).seed == 4_294_966


@pytest.mark.parametrize("key, value", [("gamma", 0.0), ("gamma", 1.0), ("rouge_threshold", 1.0), ("k", 1)])
def test_boundary_values_allowed(params_file, key, value):
    p = load_with(params_file, {key: value})
    assert getattr(p, key) == value


def test_int_given_for_float_is_accepted(params_file):
    p = load_with(params_file, {"gamma": 1})
    assert p.gamma == 1.0 and isinstance(p.gamma, float)


def test_a_float_dvc_writes_without_a_dot_is_a_float(params_file):
    """`dvc exp run -S finetune.learning_rate=0.00005` writes 5e-05, which YAML 1.1 reads as a string."""
    text = params_file.read_text().replace("  learning_rate: 1.0e-4 ", "  learning_rate: 5e-05  ")
    params_file.write_text(text)
    assert load_params(params_file).finetune.learning_rate == 5e-5
    params_file.write_text(text.replace("learning_rate: 5e-05", "learning_rate: 5e-05x"))
    with pytest.raises(IsaraError, match="finetune.learning_rate must be float, got '5e-05x'"):
        load_params(params_file)


@pytest.mark.parametrize("dotted", ["colour", "filter.colour", "generation.answer.colour"])
def test_unknown_key_named(params_file, dotted):
    with pytest.raises(IsaraError, match=rf"unknown key '{re.escape(dotted)}'"):
        load_with(params_file, {dotted: 1})


@pytest.mark.parametrize(
    "key, value, kind",
    [
        ("gamma", "high", "float"),
        ("k", "4", "int"),
        ("k", 4.5, "int"),
        ("k", True, "int"),
        ("seed_size", False, "int"),
        ("filter.ngram", True, "int"),
        ("finetune.gradient_checkpointing", 1, "bool"),
        ("model.name", 7, "str"),
        ("retrieval.exact_below", 1500.5, "int"),
    ],
)
def test_wrong_type_names_key(params_file, key, value, kind):
    with pytest.raises(IsaraError) as err:
        load_with(params_file, {key: value})
    message = str(err.value)
    assert f"{key} must be {kind}" in message, message
    assert repr(value) in message


def test_section_that_is_not_a_mapping(params_file):
    with pytest.raises(IsaraError, match=r"filter must be a mapping"):
        load_with(params_file, {"filter": 3})


ROUNDS = {"iter1": {"prev": "iter0"}, "iter2": {"prev": "iter1"}}


@pytest.mark.parametrize(
    "runs, fragment",
    [
        ({"iter1": {"prev": "iter0"}, "iter3": {"prev": "iter2"}}, "prev must be iter0 or a run"),
        ({"iter1": {"prev": "iter0"}, "iter3": {"prev": "iter1"}}, "must be iter1..iterT"),  # a gap
        ({"iter2": {"prev": "iter0"}}, "must be iter1..iterT"),  # does not start at 1
        ({"iter1": {"prev": "iter0"}, "iter2": {"prev": "iter0"}}, "runs.iter2 must be {prev: iter1}"),
        ({"iter1": {"prev": "iter1"}}, "leads back to itself"),
        ({"iter1": {}}, "missing"),
        ({"iter1": {"prev": "iter0", "rounds": 2}}, "runs.iter1 must be {prev: iter0}"),
        ({**ROUNDS, "oneshot": {"prev": "iter0"}}, "runs.oneshot must be {prev: iter0, rounds: 2}"),
        ({**ROUNDS, "oneshot": {"prev": "iter1", "rounds": 2}}, "runs.oneshot must be"),
        ({**ROUNDS, "../up": {"prev": "iter0"}}, "runs must be a name"),
        ({**ROUNDS, "iter0": {"prev": "iter0"}}, "built by its own stage"),
        ({**ROUNDS, "sft_seed": {"prev": "iter0"}}, "built by its own stage"),
    ],
)
def test_bad_runs(params_file, runs, fragment):
    with pytest.raises(IsaraError) as err:
        load_with(params_file, {"runs": runs})
    assert "runs" in str(err.value)
    assert fragment in str(err.value)


def test_three_rounds_and_their_round_numbers(params_file):
    runs = {**ROUNDS, "iter3": {"prev": "iter2"}, "oneshot": {"prev": "iter0", "rounds": 3}}
    p = load_with(params_file, {"runs": runs})
    assert p.rounds == ["iter1", "iter2", "iter3"]
    assert {name: p.round_of(name) for name in p.runs} == {"iter1": 1, "iter2": 2, "iter3": 3, "oneshot": 1}
    assert p.runs["oneshot"].rounds == 3 and p.runs["iter3"].rounds == 1


@pytest.mark.parametrize("methods, fragment", [
    ({"iter0": {"prompting": "few_shot"}}, "methods.iter0.prompting must be one of"),
    ({"../x": {"prompting": "zero_shot"}}, "methods must be a name"),
    ({"Iter0": {}}, "methods must be a name"),
    ({"iter0": "zero_shot"}, "methods.iter0 must be a mapping"),
])
def test_bad_methods(params_file, methods, fragment):
    with pytest.raises(IsaraError, match=re.escape(fragment)):
        load_with(params_file, {"methods": methods})


@pytest.mark.parametrize("changes, fragment", [
    ({"evaluate.harm_sets": ["nosuch"]}, "evaluate.harm_sets[] must be one of demo, beavertails"),
    ({"evaluate.prompt_sets": {"demo": "x.csv"}}, "is a built-in harm set"),
    ({"evaluate.prompt_sets": {"a/b": "x.csv"}}, "evaluate.prompt_sets must be a name"),
    ({"evaluate.harm_sets": []}, "at least one prompt set"),
])
def test_bad_harm_sets(params_file, changes, fragment):
    with pytest.raises(IsaraError, match=re.escape(fragment)):
        load_with(params_file, changes)


def test_a_prompt_set_of_its_own_can_join_the_harm_suite(params_file):
    p = load_with(params_file, {"evaluate.prompt_sets": {"mine": "data/mine.csv"}, "evaluate.harm_sets": ["demo", "mine"]})
    assert p.evaluate.harm_sets == ("demo", "mine")


@pytest.mark.parametrize(
    "key, value",
    [
        ("finetune.method", "qlora"),
        ("finetune.init_from", "scratch"),
        ("model.dtype", "int8"),
        ("model.device", "tpu"),
        ("model.prompt_format", "markdown"),
        ("judges.classifier.kind", "svm"),
    ],
)
def test_bad_enum_names_key_and_choices(params_file, key, value):
    with pytest.raises(IsaraError) as err:
        load_with(params_file, {key: value})
    message = str(err.value)
    assert f"{key} must be one of" in message
    assert repr(value) in message


@pytest.mark.parametrize("layers, fragment", [([], "at least one depth"), ([0.0], "layers[] must be in (0.0, 1.0]"),
                                              ([1.5], "got 1.5"), (["last"], "must be numbers")])
def test_bad_classifier_layers(params_file, layers, fragment):
    with pytest.raises(IsaraError, match=re.escape(fragment)):
        load_with(params_file, {"judges.classifier.layers": layers})


def test_missing_file():
    with pytest.raises(IsaraError, match="file not found"):
        load_params("no/such/params.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("gamma: [0.3\n")
    with pytest.raises(IsaraError, match="not valid YAML"):
        load_params(path)


def test_params_yaml_spells_out_every_default():
    """params.yaml is the documentation of every knob: it must equal the code's defaults."""
    from isara.config.schema import Params

    assert load_params(ROOT / "params.yaml") == Params()


@pytest.mark.parametrize("changes, fragment", [
    ({"finetune.num_processes": 0}, "finetune.num_processes must be an integer in [1,"),
    ({"finetune.save_steps": -1}, "finetune.save_steps must be an integer in [0,"),
    ({"finetune.optimizer": "sgd"}, "finetune.optimizer must be one of"),
    ({"finetune.save": "adapter"}, "finetune.save: adapter needs finetune.method: lora"),
    ({"finetune.accelerate_config": "../elsewhere/fsdp.yaml"}, "finetune.accelerate_config must be"),
    ({"finetune.accelerate_config": "fsdp.yaml; rm -rf ~"}, "finetune.accelerate_config must be"),
])
def test_bad_finetune_scale_params(params_file, changes, fragment):
    with pytest.raises(IsaraError, match=re.escape(fragment)):
        load_with(params_file, changes)


def test_benchmarks_resolve_from_the_project_when_dvc_runs_a_copy(tmp_path):
    from isara.config import benchmark_source

    project = tmp_path / "project"
    (tmp_path / "shared/data").mkdir(parents=True)
    copy = project / ".dvc/tmp/exps/tmpx1y2"
    copy.mkdir(parents=True)
    assert benchmark_source("../shared/data", str(project), copy) == str((tmp_path / "shared/data").resolve())
    assert benchmark_source("../shared/data", str(project), project) == "../shared/data"  # a plain dvc repro
    assert benchmark_source("../shared/data", None, copy) == "../shared/data"
    assert benchmark_source("org/dataset", str(project), copy) == "org/dataset"  # a hub id stays one


@pytest.mark.parametrize("changes, fragment", [
    ({"filter.judges": ["classifier"]}, "filter.judges uses 'classifier', so judges.check must list it"),
    ({"filter.judges": ["gpt"]}, "filter.judges[] must be one of"),
    ({"filter.contamination_rouge": 0.0}, "filter.contamination_rouge must be in (0.0, 1.0]"),
    ({"filter.min_domain_similarity": 1.5}, "filter.min_domain_similarity must be in [0.0, 1.0]"),
])
def test_bad_filter_params(params_file, changes, fragment):
    with pytest.raises(IsaraError, match=re.escape(fragment)):
        load_with(params_file, changes)


@pytest.mark.parametrize("key, name", [("methods", "iter1\n"), ("evaluate.prompt_sets", "extra\n"),
                                       ("methods", "a/b"), ("evaluate.prompt_sets", "..")])
def test_a_name_with_a_newline_or_a_slash_is_refused(params_file, key, name):
    with pytest.raises(IsaraError, match=re.escape(f"{key} must be a name of lower-case letters")):
        load_with(params_file, {key: {name: {"prompting": "zero_shot"} if key == "methods" else "data/x.jsonl"}})


@pytest.mark.parametrize("key, values", [("evaluate.suites", ["harm", "harm"]), ("judges.check", ["refusal", "refusal"]),
                                         ("evaluate.harm_sets", ["demo", "demo"]), ("filter.judges", ["refusal"] * 2),
                                         ("judges.harm", ["refusal", "refusal"])])
def test_a_list_naming_one_thing_twice_is_refused(params_file, key, values):
    with pytest.raises(IsaraError, match=re.escape(f"{key} names '{values[0]}' more than once")):
        load_with(params_file, {key: values})


def test_credentials_in_the_judge_url_are_refused_without_being_echoed(params_file):
    with pytest.raises(IsaraError, match="base_url carries credentials") as err:
        load_with(params_file, {"judges.pairwise.base_url": "https://user:s3cr3t@judge.example/v1"})
    assert "s3cr3t" not in str(err.value) and "user:" not in str(err.value)
