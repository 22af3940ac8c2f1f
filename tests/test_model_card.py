"""Model cards: what a tuned model was trained on and how to rebuild it."""

from isara.train.model_card import model_card, training_data
from isara.config.schema import Params


def test_training_data_counts_rows_and_weight_per_source():
    rows = [{"source": "seed", "weight": 1.5}] * 2 + [{"source": "generated", "weight": 0.5}] * 3
    assert training_data(rows) == {"rows": 5, "generated_rows": 3, "seed_rows": 2,
                                   "generated_weight": 1.5, "seed_weight": 3.0}


def test_card_names_base_stage_data_metrics_and_params():
    card = model_card("iter2", "finetune@2", "models/iter1", Params(), {"rows": 7, "seed_rows": 4},
                      {"train_loss": 1.23456, "steps": 3}, ["metrics/iter2.json"])
    assert card.startswith("# iter2\n")
    assert "from `models/iter1`; base model `smollm2-135m-instruct`" in card
    assert "dvc repro finetune@2" in card
    assert "| rows | 7 |" in card and "| seed_rows | 4 |" in card
    assert "| train_loss | 1.2346 |" in card and "| steps | 3 |" in card
    assert "`metrics/iter2.json`" in card and '"learning_rate": 0.0001' in card
