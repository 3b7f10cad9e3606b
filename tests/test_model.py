"""The config, presets and Keras model: checked values, known sizes, known outputs."""

import gc
import random
import threading
import weakref

import numpy as np
import pytest

from mnist_mlp import model


def test_presets_have_the_classic_sizes():
    sizes = {name: config.parameter_count for name, config in model.PRESETS.items()}
    assert sizes["softmax"] == 784 * 10 + 10
    assert sizes["784-20-10"] == 784 * 20 + 20 + 20 * 10 + 10
    assert sizes["784-512-10"] == 407_050
    assert sizes["784-700-500-10"] == 784 * 700 + 700 + 700 * 500 + 500 + 500 * 10 + 10
    for name, config in model.PRESETS.items():
        assert config.architecture == name or name == "softmax"
    assert model.PRESETS["softmax"].architecture == "784-10"
    assert model.PRESETS["784-512-10"].flops_per_image == 2 * (784 * 512 + 512 * 10)


@pytest.mark.parametrize(
    ("field", "value"),
    [("hidden_units", (0,)), ("activation", "swish!"), ("dropout_rate", 1.0), ("optimizer", "lbfgs"),
     ("learning_rate", -3), ("learning_rate_decay", "linear"), ("batch_size", 0), ("epochs", 0),
     ("l2", -1)],
)  # fmt: skip
def test_invalid_config_names_field_and_value(field, value):
    with pytest.raises(ValueError, match=f"invalid value for {field}.*Received: {field}="):
        model.MLPConfig(**{field: value})


def test_config_round_trips_through_plain_dict():
    config = model.MLPConfig(hidden_units=[50, 50], activation="tanh", augment=True, seed=7)
    assert config.hidden_units == (50, 50)
    assert model.MLPConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="Unknown MLPConfig fields: \\['colour'\\]"):
        model.MLPConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_cosine_decay_falls_to_zero_over_the_run_then_restarts():
    config = model.MLPConfig(learning_rate=0.01, learning_rate_decay="cosine")
    schedule = model.make_optimizer(config, total_steps=100).learning_rate  # keras schedules: callables
    rates = {
        step: float(model.make_optimizer(config, total_steps=100)._learning_rate(step))
        for step in (0, 25, 50, 99, 100)
    }
    assert rates[0] == pytest.approx(0.01)
    assert rates[25] == pytest.approx(0.01 * (1 + np.cos(np.pi / 4)) / 2)
    assert rates[50] == pytest.approx(0.005)
    assert rates[99] == pytest.approx(0.01 * (1 + np.cos(np.pi * 0.99)) / 2, rel=1e-3)  # the last step
    assert rates[100] == pytest.approx(0.01)  # continuing starts a new cycle
    assert float(schedule) == pytest.approx(0.01)  # at iteration 0
    constant = model.make_optimizer(model.MLPConfig(learning_rate=0.01))
    assert float(constant.learning_rate) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="Received: total_steps=None"):
        model.make_optimizer(config)


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="784-512-10"):
        model.preset("huge")


def test_built_model_matches_config():
    config = model.preset("784-50-50-10")
    keras_model = model.build_model(config)
    assert keras_model.count_params() == config.parameter_count
    assert tuple(keras_model.input_shape) == (None, 28, 28)
    assert tuple(keras_model.output_shape) == (None, 10)
    assert model.first_layer_weights(keras_model).shape == (50, 28, 28)


def test_same_seed_same_initial_weights():
    config = model.MLPConfig(hidden_units=(16,), seed=3)
    first = model.build_model(config).get_weights()
    second = model.build_model(config).get_weights()
    other = model.build_model(config.replace(seed=4)).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_predict_gives_known_softmax_for_known_weights():
    keras_model = model.build_model(model.preset("softmax"))
    kernel = np.zeros((784, 10), np.float32)
    kernel[0, 3] = 1.0  # the top-left pixel votes for class 3
    bias = np.log(np.arange(1, 11, dtype=np.float32))  # blank image: probabilities proportional to 1..10
    keras_model.get_layer("probabilities").set_weights([kernel, bias])
    images = np.zeros((2, 28, 28), np.uint8)
    images[1, 0, 0] = 255
    probabilities = model.predict(keras_model, images)
    expected_blank = np.arange(1, 11) / 55
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities[0], expected_blank, rtol=1e-5)
    logits = np.log(np.arange(1, 11)) + (np.arange(10) == 3)
    np.testing.assert_allclose(probabilities[1], np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)
    np.testing.assert_allclose(model.predict(keras_model, images / 255.0), probabilities, rtol=1e-6)


def test_predict_refuses_wrong_shape():
    keras_model = model.build_model(model.preset("softmax"))
    with pytest.raises(ValueError, match=r"shape \(n, 28, 28\).*Received: shape=\(28, 28\)"):
        model.predict(keras_model, np.zeros((28, 28)))


def test_seeded_weights_are_those_of_the_global_seed_days():
    """Known answer: the per-layer seeds give exactly the weights `keras.utils.set_random_seed(3)`
    gave before, so saved models and their recorded commands still reproduce."""
    weights = model.build_model(model.MLPConfig(hidden_units=(16,), seed=3)).get_weights()
    np.testing.assert_array_equal(
        weights[0][0, :3], np.float32([-0.0003582760691642761, -0.08384393155574799, 0.055303871631622314])
    )
    np.testing.assert_array_equal(
        weights[2][5, :3], np.float32([0.06429284811019897, -0.16807404160499573, -0.24287034571170807])
    )
    assert model.layer_seeds(3, 2) == model.layer_seeds(3, 3)[:2]  # a layer's seed: its place, not the depth


def test_building_a_model_leaves_the_global_random_state_alone():
    random.seed(123)
    np.random.seed(123)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    model.build_model(model.MLPConfig(hidden_units=(8, 8), seed=5))
    assert random.getstate() == python_state
    numpy_after = np.random.get_state()
    assert numpy_after[0] == numpy_state[0] and np.array_equal(numpy_after[1], numpy_state[1])
    assert numpy_after[2:] == numpy_state[2:]


def test_models_built_in_parallel_threads_match_lone_builds():
    """Eight threads build models of seeds 0..7 at once, four rounds; each matches its lone build."""
    configs = [model.MLPConfig(hidden_units=(32, 16), seed=seed) for seed in range(8)]
    alone = [model.build_model(config).get_weights() for config in configs]
    barrier = threading.Barrier(len(configs))
    built: dict[tuple[int, int], list[np.ndarray]] = {}

    def build(index: int) -> None:
        for round_number in range(4):
            barrier.wait()
            built[index, round_number] = model.build_model(configs[index]).get_weights()

    threads = [threading.Thread(target=build, args=(index,)) for index in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 4 * len(configs)
    mismatched = [
        key for key, weights in built.items()
        if not all(np.array_equal(a, b) for a, b in zip(weights, alone[key[0]], strict=True))
    ]  # fmt: skip
    assert mismatched == []


def _live(references: list[weakref.ref]) -> int:
    gc.collect()
    return sum(reference() is not None for reference in references)


def test_models_predicted_on_and_explained_are_freed_when_dropped(tmp_path):
    """The compiled-function cache must not keep a model alive: build or load, use, drop, collect."""
    import keras

    from mnist_mlp import explain

    image = np.zeros((28, 28), np.uint8)
    image[10:18, 12:15] = 255
    model.build_model(model.MLPConfig(hidden_units=(8,), seed=0)).save(tmp_path / "saved.keras")
    cached_before = len(model._compiled_functions)  # other tests' models may still be in use
    references = []
    for index in range(6):
        if index % 2:
            keras_model = keras.models.load_model(tmp_path / "saved.keras", compile=False)
        else:
            keras_model = model.build_model(model.MLPConfig(hidden_units=(8,), seed=index))
        probabilities = model.predict(keras_model, image[None])
        assert explain.explain(keras_model, image, steps=4).target == int(probabilities[0].argmax())
        assert explain.features(keras_model, image[None]).shape == (1, 8)
        references.append(weakref.ref(keras_model))
        del keras_model
    assert _live(references) == 0
    assert len(model._compiled_functions) <= cached_before
