"""Comparing two models: known per-class figures, agreement counts and confusion changes, and a linear
model's templates."""

import numpy as np
import pytest

from mnist_mlp import compare, evaluate, model

NAMES = [str(digit) for digit in range(10)]


def evaluation(labels, predicted) -> evaluate.Evaluation:
    """An evaluation whose argmax is `predicted` (confidence 0.9)."""
    probabilities = np.full((len(labels), 10), 0.1 / 9, np.float32)
    probabilities[np.arange(len(labels)), predicted] = 0.9
    return evaluate.Evaluation(labels=np.array(labels), probabilities=probabilities)


def test_known_per_class_figures_and_agreement():
    labels = [0, 0, 1, 1, 2, 2]
    first = evaluation(labels, [0, 1, 1, 1, 0, 2])  # right: 0, 2, 3, 5
    second = evaluation(labels, [0, 0, 1, 0, 2, 2])  # right: 0, 1, 2, 4, 5
    result = compare.compare_classes(first, second, NAMES)
    np.testing.assert_allclose(result.first[:3], [0.5, 1.0, 0.5])
    np.testing.assert_allclose(result.second[:3], [1.0, 0.5, 1.0])
    np.testing.assert_allclose(result.difference[:3], [0.5, -0.5, 0.5])
    assert np.isnan(result.first[7]) and np.isnan(result.difference[7])  # no 7s in the set
    assert result.first_accuracy == pytest.approx(4 / 6) and result.second_accuracy == pytest.approx(5 / 6)
    assert (result.both_right, result.only_first_right, result.only_second_right, result.both_wrong) == (
        3,
        1,
        2,
        0,
    )
    rows = result.rows("softmax", "mlp")
    assert rows[1] == {"class": "1", "softmax": 1.0, "mlp": 0.5, "difference": -0.5}
    assert rows[7]["softmax"] is None


def test_confusion_changes_in_images_and_in_shares_of_each_true_class():
    labels = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2]  # classes of 4, 2 and 5 images
    first = evaluation(labels, [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0])
    second = evaluation(labels, [0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 1])
    result = compare.compare_classes(first, second, NAMES)
    change = result.confusion_difference
    assert change.dtype == np.int64
    # By hand: B fixes A's 0 read as 1 and both 2s read as 0 (one is now read as 1), and reads a 1 as 2
    assert (change[0, 0], change[0, 1]) == (1, -1)
    assert (change[1, 1], change[1, 2]) == (-1, 1)
    assert (change[2, 2], change[2, 0], change[2, 1]) == (1, -2, 1)
    assert np.count_nonzero(change) == 7 and change.sum() == 0
    shares = result.share_difference
    assert (shares[0, 0], shares[0, 1]) == (1 / 4, -1 / 4)
    assert (shares[1, 1], shares[1, 2]) == (-1 / 2, 1 / 2)
    np.testing.assert_allclose(shares[2, [0, 1, 2]], [-2 / 5, 1 / 5, 1 / 5])
    np.testing.assert_allclose(shares.sum(axis=1), 0, atol=1e-12)  # each class's shares still add to 1
    np.testing.assert_allclose(np.diag(shares)[:3], result.difference[:3])  # the accuracy differences
    assert shares[7, 7] == 0 and not np.isnan(shares).any(), "no 7s: 0, not NaN"
    assert (result.first_confusion.sum(axis=1) == [4, 2, 5, 0, 0, 0, 0, 0, 0, 0]).all()


def test_evaluations_of_different_sets_are_refused():
    first = evaluation([0, 1], [0, 1])
    with pytest.raises(ValueError, match="same labelled set"):
        compare.compare_classes(first, evaluation([1, 0], [0, 1]), NAMES)
    with pytest.raises(ValueError, match="same labelled set"):
        compare.compare_classes(first, evaluation([0, 1, 2], [0, 1, 2]), NAMES)
    assert compare.same_set(first, evaluation([0, 1], [1, 1]))  # same labels, other predictions
    assert not compare.same_set(first, evaluation([1, 0], [0, 1]))
    with pytest.raises(ValueError, match="10 class names"):
        compare.compare_classes(first, first, NAMES[:9])


def test_class_templates_are_the_linear_models_kernel():
    network = model.build_model(model.preset("softmax"))
    kernel = np.arange(784 * 10, dtype=np.float32).reshape(784, 10) / 1000  # known weights
    network.get_layer("probabilities").kernel.assign(kernel)
    templates = compare.class_templates(network)
    assert templates.shape == (10, 28, 28) and compare.is_linear(network)
    np.testing.assert_allclose(templates[3], kernel[:, 3].reshape(28, 28))  # class 3's pixel weights
    assert templates[3, 0, 1] == pytest.approx(kernel[1, 3])


def test_a_model_with_hidden_layers_has_no_class_templates(trained):
    assert not compare.is_linear(trained.model) and compare.dense_layers(trained.model) == 2
    with pytest.raises(ValueError, match="1 hidden layer"):
        compare.class_templates(trained.model)
