"""Model cards for trained and uploaded models: their fields, and the config read off a model's layers."""

import pytest

from mnist_mlp import cards, model, store


def test_cards_describe_trained_and_uploaded_models(trained, digits):
    from mnist_mlp import evaluate

    test = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    card = cards.make_card("tiny", trained, digits, {"train": 1000, "validation": 400}, test)
    assert card.config == trained.config and card.dataset == "mnist"
    assert card.test_accuracy == pytest.approx(test.accuracy)
    assert len(card.per_class_accuracy) == 10 and card.history == trained.history
    assert store.Card.from_dict(card.to_dict()).to_dict() == card.to_dict()

    uploaded = cards.upload_card("up", trained.model, digits, "mine.keras", None)
    assert uploaded.config.hidden_units == (64,) and uploaded.config.dropout_rate == 0.0
    assert uploaded.test_accuracy is None and "mine.keras" in uploaded.notes


def test_config_of_reads_layers_activation_and_dropout():
    config = model.MLPConfig(hidden_units=(12, 8), activation="tanh", dropout_rate=0.3)
    assert cards.config_of(model.build_model(config)) == model.MLPConfig(
        hidden_units=(12, 8), activation="tanh", dropout_rate=0.3
    )
    assert cards.config_of(model.build_model(model.preset("softmax"))).hidden_units == ()
