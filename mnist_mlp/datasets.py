"""What a dataset is here: the two datasets' names and class names, the `Dataset` a load returns and
the `Split` a run trains and validates on.

A leaf: `data` (which loads datasets and splits them), `my_drawings` (which keeps my drawings as one),
`pen` and `train` (which add to a split and train on it) all use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist")
ITEMS = {"mnist": "digit", "fashion_mnist": "piece of clothing"}  # what one image shows, for people
_CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}  # fmt: skip
# MNIST's four raw IDX files (LeCun's originals, uncompressed) and their SHA-256: what `fetch` checks
# whatever the source, and what `data.load` checks again before it reads a fetched copy.
MNIST_SHA256 = {
    "train-images.idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels.idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images.idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels.idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_ARRAYS = dict(zip(MNIST_SHA256, ("x_train", "y_train", "x_test", "y_test"), strict=True))  # file: array


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == has no single truth value
class Dataset:
    """One dataset split into train and test, with where it came from.

    Arrays are read-only because loads are cached and shared; copy before changing them.
    """

    name: str  # "mnist" | "fashion_mnist" (or another label for user data)
    source: str  # human-readable: where it came from, and why better sources were not used
    x_train: np.ndarray = field(repr=False)  # (n, 28, 28) uint8 in 0..255, ink white on black
    y_train: np.ndarray = field(repr=False)  # (n,) uint8 in 0..9
    x_test: np.ndarray = field(repr=False)  # (m, 28, 28) uint8, used only for final figures
    y_test: np.ndarray = field(repr=False)  # (m,) uint8 in 0..9
    class_names: tuple[str, ...]  # class_names[label] is the label's name
    is_sample: bool  # True for the small bundled sample, not the full set


@dataclass(frozen=True, eq=False)
class Split:
    """The images a run trains and validates on; unpacks as `x_train, y_train, x_val, y_val`."""

    x_train: np.ndarray  # (n, 28, 28) uint8, ink white on black
    y_train: np.ndarray  # (n,) integer labels in 0..9, or train.OUTLIER for an image of no class
    x_val: np.ndarray  # (m, 28, 28) uint8
    y_val: np.ndarray  # (m,) integer labels in 0..9

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.x_train, self.y_train, self.x_val, self.y_val))

    def read_only(self) -> Split:
        """The same split, its arrays made read-only (for one shared by every session); returns self."""
        for array in self:
            array.setflags(write=False)
        return self


def class_names(dataset: str) -> tuple[str, ...]:
    """The 10 class names of `dataset` ("mnist" or "fashion_mnist"), indexed by label."""
    if dataset not in _CLASS_NAMES:
        raise ValueError(
            f"Unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}. "
            f"Received: dataset={dataset!r}"
        )
    return _CLASS_NAMES[dataset]
