"""Tests for mnist_mlp.datasets: the two datasets' names and class names."""

import re

import pytest

from mnist_mlp import datasets

FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def test_class_names_known_answers():
    assert datasets.DATASETS == ("mnist", "fashion_mnist")
    assert datasets.class_names("mnist") == tuple("0123456789")
    assert datasets.class_names("fashion_mnist") == FASHION_NAMES
    assert set(datasets.ITEMS) == set(datasets.DATASETS)


def test_unknown_dataset_lists_valid_ones():
    with pytest.raises(
        ValueError, match=re.escape("expected one of mnist, fashion_mnist. Received: dataset='emnist'")
    ):
        datasets.class_names("emnist")
