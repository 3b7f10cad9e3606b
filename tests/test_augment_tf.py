"""The distortions as TensorFlow ops (the GPU path), run here on the CPU: the CPU path's images from
the same drawn numbers, a fixed seed repeating, and the training step that uses them."""

import numpy as np
import pytest

from mnist_mlp import augment, augment_tf, model, train


@pytest.fixture(scope="module")
def compiled_distort():
    import tensorflow as tf

    return tf.function(lambda images, coefficients: augment_tf.distort(tf, images, coefficients))


def test_tensor_distortions_are_the_cpu_distortions_of_the_same_draw(digits, compiled_distort):
    images = digits.x_train[:500]
    coefficients = augment.draw(images.shape, seed=3)
    on_device = compiled_distort(images, coefficients).numpy()
    assert on_device.shape == images.shape and on_device.dtype == np.uint8
    difference = np.abs(on_device.astype(int) - augment.warp(images, coefficients))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.001  # float rounding at most
    np.testing.assert_array_equal(compiled_distort(images, coefficients).numpy(), on_device)  # repeats


def test_tensor_distortions_keep_the_drawn_ranges(digits, compiled_distort):
    """Known moves through the tensor path: no move, a shift by whole pixels, a quarter turn."""
    images = digits.x_train[:4]
    still = augment.draw(images.shape, seed=0) * 0
    rank = still.shape[-1] - 2
    still[:, 0, rank, rank + 1] = still[:, 1, rank + 1, rank] = 1  # rows read rows, columns columns
    still[:, :, rank + 1, rank + 1] = 13.5  # about the centre
    np.testing.assert_array_equal(compiled_distort(images, still).numpy(), images)
    shifted = still.copy()
    shifted[:, 0, rank + 1, rank + 1] -= 2  # 2 px down: row r reads row r - 2
    expected = np.zeros_like(images)
    expected[:, 2:] = images[:, :-2]
    np.testing.assert_array_equal(compiled_distort(images, shifted).numpy(), expected)
    turned = still.copy()
    turned[:, 0, rank, rank + 1], turned[:, 0, rank + 1, rank] = 0, -1  # rotation by 90 degrees
    turned[:, 1, rank, rank + 1], turned[:, 1, rank + 1, rank] = 1, 0
    quarter_turn = np.rot90(images, k=-1, axes=(1, 2))
    np.testing.assert_array_equal(compiled_distort(images, turned).numpy(), quarter_turn)


def _gpu_path(monkeypatch) -> None:
    monkeypatch.setattr(augment_tf, "gpu_visible", lambda: True)  # as if TensorFlow saw a GPU


def test_the_gpu_path_steps_read_the_cpu_paths_images(small_split, monkeypatch):
    import tensorflow as tf

    _gpu_path(monkeypatch)
    config = model.MLPConfig(hidden_units=(8,), epochs=1, augment=True, seed=4)
    runner = train._Runner(train.new_result(config, 10).model, config, *small_split)
    assert runner.distortions is not None
    runner.epoch_order(2)
    batch = np.arange(0, 1000, 7, dtype=np.int32)
    seen = tf.function(runner._batch_images)(tf.constant(batch)).numpy()  # (143, 28, 28) in [0, 1]
    cpu = augment.distort(small_split.x_train, seed=4 * 100_003 + 2)[batch] / 255.0
    assert np.abs(seen - cpu).max() <= 1 / 255 + 1e-6 and (seen != cpu.astype(np.float32)).mean() < 0.001


def test_gpu_path_training_is_seeded_and_learns_as_the_cpu_path_does(small_split, monkeypatch):
    config = model.MLPConfig(hidden_units=(64,), epochs=5, batch_size=32, augment=True, seed=7)
    on_cpu = train.train(config, small_split)
    _gpu_path(monkeypatch)
    first, again = (train.train(config, small_split) for _ in range(2))
    for a, b in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.history[-1]["val_accuracy"] > 0.75  # as tests/test_train.py asks of the CPU path
    # The same images, but for a pixel's level here and there: the same run, near enough.
    assert first.history[-1]["val_accuracy"] == pytest.approx(on_cpu.history[-1]["val_accuracy"], abs=0.02)
