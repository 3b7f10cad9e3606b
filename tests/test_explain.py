"""explain: known attributions for hand-set models, completeness, the hidden units behind an answer."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp import explain, model


def set_dense(keras_model, name: str, kernel: np.ndarray, bias: np.ndarray) -> None:
    keras_model.get_layer(name).set_weights([kernel.astype(np.float32), bias.astype(np.float32)])


@pytest.fixture(scope="module")
def linear():
    """Softmax regression with random known weights: logits = pixels @ kernel + bias."""
    keras_model = model.build_model(model.PRESETS["softmax"])
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(0, 0.1, (784, 10)), rng.normal(0, 1, 10)
    set_dense(keras_model, "probabilities", kernel, bias)
    return keras_model, kernel.astype(np.float32), bias.astype(np.float32)


def test_a_linear_model_attributes_weight_times_pixel_exactly(linear, digits):
    keras_model, kernel, bias = linear
    image = digits.x_test[0].astype(np.float32) / 255
    logits = image.reshape(-1) @ kernel + bias
    result = explain.explain(keras_model, digits.x_test[0], steps=8)
    target = int(logits.argmax())
    assert result.target == target
    np.testing.assert_allclose(result.logits, logits, rtol=1e-5, atol=1e-5)
    expected = kernel[:, target].reshape(28, 28) * image
    np.testing.assert_allclose(result.attribution, expected, atol=1e-6)
    np.testing.assert_allclose(result.gradient_x_input, expected, atol=1e-6)
    assert result.baseline_logit == pytest.approx(bias[target], abs=1e-6)
    assert abs(result.completeness_gap) < 1e-4
    assert result.unit_activations.shape == result.unit_contributions.shape == (0,)
    np.testing.assert_allclose(result.features, image.reshape(-1), atol=1e-7)  # no hidden layer: pixels
    assert len(explain.top_units(result).indices) == 0


def test_one_relu_unit_that_stays_on_gives_gradient_times_input(digits):
    """logit_c = w2_c * relu(w1 . x + b1) + b_c, b1 > 0: linear all along the path from black, so
    integrated gradients equal gradient x input."""
    keras_model = model.build_model(model.MLPConfig(hidden_units=(1,), dropout_rate=0.0))
    w1 = np.abs(np.random.default_rng(1).normal(0, 0.05, (784, 1)))  # positive: the unit is on for ink
    w2 = np.arange(10, dtype=np.float64)[None] - 4.5  # class 9 has the largest weight
    b2 = np.linspace(-1, 1, 10)
    set_dense(keras_model, "hidden_1", w1, np.full(1, 0.01))  # on at black too: no kink on the path
    set_dense(keras_model, "probabilities", w2, b2)
    image = digits.x_test[3].astype(np.float32) / 255
    activation = float(image.reshape(-1) @ w1[:, 0]) + 0.01
    result = explain.explain(keras_model, image)
    assert result.target == 9
    expected = w2[0, 9] * w1[:, 0].reshape(28, 28) * image
    np.testing.assert_allclose(result.attribution, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.gradient_x_input, expected, rtol=1e-4, atol=1e-6)
    assert result.unit_activations == pytest.approx([activation], rel=1e-5)
    assert result.unit_contributions == pytest.approx([activation * w2[0, 9]], rel=1e-5)
    other = explain.explain(keras_model, image, target=2)  # a class the unit argues against
    assert other.target == 2 and other.unit_contributions[0] == pytest.approx(activation * -2.5, rel=1e-5)


def test_integrated_gradients_add_up_to_the_logit_change_on_a_trained_model(trained, digits):
    for image in digits.x_test[:5]:
        result = explain.explain(trained.model, image)
        change = result.logits[result.target] - result.baseline_logit
        assert abs(result.completeness_gap) <= 0.01 * abs(change) + 1e-3
        np.testing.assert_allclose(
            result.probabilities, model.predict(trained.model, image[None])[0], atol=1e-6
        )
        assert result.target == int(result.probabilities.argmax())


def test_one_hidden_layer_contributions_sum_to_the_logit(trained, digits):
    output_bias = trained.model.get_layer("probabilities").bias.numpy()
    result = explain.explain(trained.model, digits.x_test[7])
    assert result.unit_activations.shape == (64,)
    total = result.unit_contributions.sum() + output_bias[result.target]
    assert total == pytest.approx(result.logits[result.target], abs=1e-4)
    units = explain.top_units(result, count=5)
    assert list(units.contributions) == sorted(result.unit_contributions, reverse=True)[:5]
    np.testing.assert_array_equal(units.activations, result.unit_activations[units.indices])


def test_deeper_relu_net_without_biases_shares_the_whole_logit(digits):
    """A bias-free ReLU net is positively homogeneous: sum of activation x gradient is the logit."""
    keras_model = model.build_model(model.MLPConfig(hidden_units=(16, 8), dropout_rate=0.0, seed=3))
    result = explain.explain(keras_model, digits.x_test[1], target=4)
    assert result.unit_activations.shape == (16,)
    assert result.unit_contributions.sum() == pytest.approx(result.logits[4], abs=1e-5)
    assert result.features.shape == (8,)
    np.testing.assert_allclose(
        explain.features(keras_model, digits.x_test[1:2])[0], result.features, atol=1e-6
    )


def test_the_compiled_function_is_traced_once_per_model(trained, digits):
    for index, target in enumerate([None, 3, None, 0]):
        explain.explain(trained.model, digits.x_test[index], target=target)
    function = model._compiled_functions[trained.model][("explain", explain.IG_STEPS)]
    assert function.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.zeros((1, 28, 28)), {}, r"one \(28, 28\) image"),
        (np.full((28, 28), 2.0), {}, r"pixels in \[0, 1\]"),
        (np.full((28, 28), np.nan), {}, r"pixels in \[0, 1\]"),
        (np.zeros((28, 28)), {"target": 10}, "class number in 0..9"),
        (np.zeros((28, 28)), {"steps": 0}, "steps to be an integer"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected(trained, image, kwargs, message):
    with pytest.raises(explain.ExplainError, match=message):
        explain.explain(trained.model, image, **kwargs)


def test_a_model_without_a_softmax_output_is_refused():
    import keras

    inputs = keras.Input((28, 28))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))  # logits only, no softmax
    with pytest.raises(explain.ExplainError, match="ending in a Dense layer with softmax"):
        explain.explain(keras.Model(inputs, outputs), np.zeros((28, 28)))
