"""Regenerate the real-data samples bundled in mnist_mlp/sample/; run `python -m scripts.make_sample`.

Needs the full MNIST as its four IDX files (checked against their SHA-256) and Debian's
dataset-fashion-mnist (Fashion-MNIST); same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from mnist_mlp import data, datafiles, datasets

SAMPLE_SEED = 0  # fixes which images are drawn, their order and Fashion-MNIST's test split
PER_CLASS = 500  # Fashion-MNIST images of each class in its sample: 5,000 in all
TEST_FRACTION = 0.2  # 100 of each class's 500 go to test: 4,000 train / 1,000 test
MNIST_TRAIN_PER_CLASS = 400  # digits of each class from MNIST's 60,000 training digits: 4,000
MNIST_TEST_PER_CLASS = 100  # digits of each class from MNIST's 10,000 test digits: 1,000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp, so regenerating gives identical files
FASHION_DIR = data.DEBIAN_DATASETS_DIR / "fashion-mnist"


def check_mnist_files(folder: Path) -> None:
    """Check that `folder` holds the original MNIST: its four raw IDX files, each with its SHA-256.

    Raises:
        datafiles.DataError: a file is missing or its contents differ from MNIST's.
    """
    try:
        datafiles.check_sha256(folder, datasets.MNIST_SHA256)
    except datafiles.DataError as err:
        raise datafiles.DataError(
            f"{err} Fetch the full MNIST with `{data.FETCH_COMMAND}`, or name a folder holding its "
            "original four raw IDX files with --mnist-dir."
        ) from err


def mnist_sample(folder: Path | None = None) -> datafiles.Arrays:
    """400 digits per class from MNIST's training set and 100 from its test set, each part shuffled.

    Each part comes from its own split, so a model trained on the full MNIST never saw the test part.
    `folder` holds the four IDX files (default: where `fetch` puts them). Returns (4000, 28, 28)
    and (1000, 28, 28) uint8 images, ink white on black, with their (n,) uint8 labels 0..9.
    """
    folder = data.fetched_mnist_dir() if folder is None else folder
    check_mnist_files(folder)
    full = data.load("mnist", folder)
    rng = np.random.default_rng(SAMPLE_SEED)
    x_train, y_train = _draw(full.x_train, full.y_train, MNIST_TRAIN_PER_CLASS, rng)
    x_test, y_test = _draw(full.x_test, full.y_test, MNIST_TEST_PER_CLASS, rng)
    return x_train, y_train, x_test, y_test


def _draw(
    images: np.ndarray, labels: np.ndarray, per_class: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` random images of each class, in random order (classes mixed)."""
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=per_class, replace=False)
        for label in range(datafiles.NUM_CLASSES)
    ]
    order = rng.permutation(np.concatenate(chosen))
    return images[order], labels[order]


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
    parser.add_argument(
        "--mnist-dir",
        type=Path,
        default=data.fetched_mnist_dir(),
        help="MNIST's four IDX files (%(default)s)",
    )
    parser.add_argument("--fashion-dir", type=Path, default=FASHION_DIR, help="full IDX set")
    args = parser.parse_args()
    try:  # both read before either is written, so a bad input leaves the samples as they were
        samples = {"mnist": mnist_sample(args.mnist_dir), "fashion_mnist": fashion_sample(args.fashion_dir)}
    except datafiles.DataError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    for dataset, arrays in samples.items():
        path = args.out / data.SAMPLE_FILES[dataset]
        write_npz(path, arrays)
        checked = datafiles.read_npz(path)  # the same checks every load makes
        print(f"{path}: {len(checked[0])} train, {len(checked[2])} test, {path.stat().st_size:,} B")


if __name__ == "__main__":
    main()
