"""ensemble: several MLPs joined into one whose logits are exactly the average of theirs, which every
part of the app can use as it uses any MLP (a chain of Dense layers)."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp import cards, ensemble, explain, model, store


def logits_by_hand(network, images: np.ndarray) -> np.ndarray:
    """The network's logits from its weights, in numpy: relu hidden layers, then the output layer."""
    x = images.reshape(len(images), -1).astype(np.float64)
    layers = ensemble.dense_weights(network)
    for kernel, bias in layers[:-1]:
        x = np.maximum(x @ kernel + bias, 0)
    kernel, bias = layers[-1]
    return x @ kernel + bias


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def members():
    """Three untrained MLPs of one depth but different widths, seeds and random biases."""
    configs = [
        model.MLPConfig(hidden_units=(16, 8), seed=1),
        model.MLPConfig(hidden_units=(12, 6), seed=2),
        model.MLPConfig(hidden_units=(20, 4), seed=3),
    ]
    networks = [model.build_model(config) for config in configs]
    rng = np.random.default_rng(0)
    for network in networks:  # biases are built as zeros: give them values, so their joining is tested
        for layer in network.layers:
            if hasattr(layer, "bias"):
                layer.bias.assign(rng.normal(0, 0.5, layer.bias.shape).astype(np.float32))
    return networks, configs


def test_the_joined_model_reads_with_the_average_of_its_members_logits(members, real):
    networks, configs = members
    images = real[2].astype(np.float32) / 255  # 20 real test digits

    joined = ensemble.join(networks, configs)

    for network in networks:  # the numpy forward pass is the model's own
        np.testing.assert_allclose(
            softmax(logits_by_hand(network, images)), model.predict(network, images), atol=1e-5
        )
    average = np.mean([logits_by_hand(network, images) for network in networks], axis=0)
    np.testing.assert_allclose(logits_by_hand(joined, images), average, atol=1e-5)
    np.testing.assert_allclose(model.predict(joined, images), softmax(average), atol=1e-5)
    assert joined.output_shape == (None, 10)
    assert int(joined.optimizer.iterations.numpy()) == 0 and type(joined.optimizer).__name__ == "Adam"


def test_the_joined_model_is_an_mlp_to_the_rest_of_the_app(members, real, tmp_path):
    networks, configs = members
    joined = ensemble.join(networks, configs)

    assert ensemble.joined_config(configs).architecture == "784-48-18-10"
    assert cards.config_of(joined).hidden_units == (48, 18)  # what an upload's card would say
    assert model.first_layer_weights(joined).shape == (48, 28, 28)  # the Weights page
    image = real[2][0].astype(np.float32) / 255
    explanation = explain.explain(joined, image)  # Why
    average = np.mean([logits_by_hand(network, image[None]) for network in networks], axis=0)[0]
    np.testing.assert_allclose(explanation.logits, average, atol=1e-5)
    assert explanation.target == int(average.argmax())
    card = store.Card(name="joined", config=ensemble.joined_config(configs), dataset="mnist",
                      data_source="test", class_names=[str(d) for d in range(10)])  # fmt: skip
    store.save(joined, card, store=tmp_path)  # and back through the safe loader
    loaded = store.load("joined", tmp_path)
    np.testing.assert_allclose(
        model.predict(loaded.model, real[2] / 255), model.predict(joined, real[2] / 255)
    )


def test_networks_that_cannot_be_joined_are_refused_with_the_reason(members):
    networks, configs = members
    with pytest.raises(ensemble.EnsembleError, match="at least two networks"):
        ensemble.joined_config(configs[:1])
    with pytest.raises(ensemble.EnsembleError, match="same number of hidden layers"):
        ensemble.joined_config([configs[0], model.MLPConfig(hidden_units=(16,))])
    with pytest.raises(ensemble.EnsembleError, match="same number of hidden layers"):
        ensemble.joined_config([model.MLPConfig(hidden_units=()), model.MLPConfig(hidden_units=())])
    with pytest.raises(ensemble.EnsembleError, match="share one activation"):
        ensemble.joined_config([configs[0], configs[1].replace(activation="tanh")])


def test_joined_snapshots_put_the_members_units_side_by_side_at_the_steps_they_share():
    first = {0: np.full((2, 28, 28), 1, np.float16), 10: np.full((2, 28, 28), 2, np.float16)}
    second = {10: np.full((3, 28, 28), 3, np.float16), 100: np.full((3, 28, 28), 4, np.float16)}

    joined = ensemble.joined_snapshots([first, second])

    assert list(joined) == [10]
    assert joined[10][:, 0, 0].tolist() == [2, 2, 3, 3, 3]


def test_a_joined_model_is_fine_tuned_as_a_copy_like_any_saved_model(members, small_split):
    from mnist_mlp import board, train

    networks, configs = members
    joined = ensemble.join(networks, configs)
    config = ensemble.joined_config(configs).replace(epochs=1, batch_size=100)
    copy = board.copy_model(joined)  # what the class board fine-tunes

    result = train.train(config, small_split, previous=train.TrainResult(copy, config))

    assert result.steps == len(small_split.y_train) // 100 and len(result.history) == 1
    before = (model.predict(joined, small_split.x_val).argmax(axis=1) == small_split.y_val).mean()
    assert result.history[-1]["val_accuracy"] > before + 0.15  # it learns (random weights: ~10%)
    assert int(joined.optimizer.iterations.numpy()) == 0  # the joined model itself untouched
