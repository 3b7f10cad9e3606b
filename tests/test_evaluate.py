"""Evaluation figures from known predictions, and on a real trained model."""

import json

import numpy as np
import pytest

from mnist_mlp import evaluate


def known_evaluation():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probabilities = np.full((6, 10), 0.01, np.float32)
    predicted = [0, 1, 1, 1, 0, 2]
    confidence = [0.91, 0.6, 0.91, 0.91, 0.8, 0.91]
    for row, (cls, conf) in enumerate(zip(predicted, confidence, strict=True)):
        probabilities[row] = (1 - conf) / 9
        probabilities[row, cls] = conf
    return evaluate.Evaluation(labels=labels, probabilities=probabilities)


def test_known_figures():
    result = known_evaluation()
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.confusion[0, 0] == 1 and result.confusion[0, 1] == 1 and result.confusion[2, 0] == 1
    assert result.confusion.sum() == 6
    np.testing.assert_allclose(result.per_class_accuracy[:3], [0.5, 1.0, 0.5])
    np.testing.assert_allclose(result.precision[:3], [0.5, 2 / 3, 1.0])
    assert np.isnan(result.per_class_accuracy[5])  # no examples of class 5
    expected_loss = -np.mean(np.log([0.91, 0.4 / 9, 0.91, 0.91, 0.2 / 9, 0.91]))
    assert result.loss == pytest.approx(expected_loss, rel=1e-5)


def test_mistakes_filter_and_sort():
    result = known_evaluation()
    mistakes = result.mistakes()
    assert [(m.index, m.true_class, m.predicted_class) for m in mistakes] == [(4, 2, 0), (1, 0, 1)]
    assert mistakes[0].confidence == pytest.approx(0.8)
    assert [m.index for m in result.mistakes(most_confident_first=False)] == [1, 4]
    assert [m.index for m in result.mistakes(true_class=0)] == [1]
    assert [m.index for m in result.mistakes(predicted_class=0)] == [4]
    assert result.mistakes(true_class=1) == []


def test_errors_count_the_wrong_ones_in_all_and_per_class():
    result = known_evaluation()
    assert result.errors == 2 == len(result.mistakes())
    assert result.errors_per_class.tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]  # a 0 read as 1, a 2 as 0


def test_to_dict_is_json_with_none_for_absent_classes():
    figures = json.loads(json.dumps(known_evaluation().to_dict()))
    assert figures["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert figures["per_class_accuracy"][5] is None
    assert figures["mistakes"] == 2 and len(figures["confusion_matrix"]) == 10


def test_real_model_on_real_test_digits(trained, digits):
    result = evaluate.evaluate(trained.model, digits.x_test, digits.y_test)
    assert len(result.labels) == 1000
    assert result.accuracy > 0.8  # chance is 0.10
    assert result.confusion.trace() == round(result.accuracy * 1000)
    assert len(result.mistakes()) == 1000 - result.confusion.trace() == result.errors
    assert result.errors_per_class.sum() == result.errors


def test_bad_labels_are_refused(trained, digits):
    with pytest.raises(ValueError, match="one label per image"):
        evaluate.evaluate(trained.model, digits.x_test, digits.y_test[:5])
    with pytest.raises(ValueError, match=r"labels in 0\.\.9"):
        evaluate.evaluate(trained.model, digits.x_test[:2], np.array([0, 12]))


def test_error_cells_list_the_off_diagonal_errors_most_first():
    confusion = np.zeros((10, 10), np.int64)
    confusion[0, 0], confusion[3, 5], confusion[1, 2], confusion[2, 1], confusion[7, 1] = 50, 1, 4, 4, 9
    assert evaluate.error_cells(confusion) == [(7, 1), (1, 2), (2, 1), (3, 5)]  # ties in row order
    assert evaluate.error_cells(np.eye(10, dtype=np.int64)) == []


def test_accuracy_where_counts_only_the_kept_examples():
    result = known_evaluation()  # right: rows 0, 2, 3, 5
    assert evaluate.accuracy_where(result, np.array([True, True, False, False, False, False])) == 0.5
    assert evaluate.accuracy_where(result, np.array([False, False, True, True, False, True])) == 1.0
    assert evaluate.accuracy_where(result, np.zeros(6, bool)) == 0.0


def test_confusion_shares_divide_each_row_by_its_true_class():
    confusion = np.zeros((10, 10), np.int64)
    confusion[0, 0], confusion[0, 6] = 970, 10  # 980 zeros, as in MNIST's test set
    confusion[1, 1], confusion[1, 7] = 1124, 11  # 1,135 ones
    confusion[5, 5], confusion[5, 3], confusion[5, 8] = 862, 20, 10  # 892 fives
    shares = evaluate.confusion_shares(confusion)
    assert shares.dtype == np.float64 and shares.shape == (10, 10)
    assert shares[0, 0] == 970 / 980 and shares[0, 6] == 10 / 980
    assert shares[1, 7] == 11 / 1135  # 11 ones misread is a smaller share than 10 zeros
    assert shares[1, 7] < shares[0, 6] and confusion[1, 7] > confusion[0, 6]
    np.testing.assert_allclose(shares[5, [3, 5, 8]], [20 / 892, 862 / 892, 10 / 892])
    np.testing.assert_allclose(shares[[0, 1, 5]].sum(axis=1), 1.0)
    assert not np.isnan(shares).any(), "a class with no examples is a row of 0, not NaN"
    assert (shares[[2, 3, 4, 6, 7, 8, 9]] == 0).all()


def test_confusion_shares_of_an_evaluation_match_its_per_class_accuracy():
    result = known_evaluation()  # classes 0, 1, 2 hold two examples each; the rest none
    shares = evaluate.confusion_shares(result.confusion)
    np.testing.assert_allclose(np.diag(shares)[:3], result.per_class_accuracy[:3])
    assert shares[0, 1] == 0.5 and shares[2, 0] == 0.5 and shares[5, 5] == 0.0
    assert evaluate.error_cells(shares) == evaluate.error_cells(result.confusion) == [(0, 1), (2, 0)]


def test_confusion_shares_refuse_what_is_no_confusion_matrix():
    with pytest.raises(ValueError, match=r"square matrix of counts >= 0.*shape=\(10,\)"):
        evaluate.confusion_shares(np.ones(10))
    with pytest.raises(ValueError, match="smallest=-1"):
        evaluate.confusion_shares(-np.eye(10, dtype=np.int64))
