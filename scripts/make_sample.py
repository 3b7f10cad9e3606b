"""Regenerate the real-data samples bundled in mnist_mlp/sample/; run `python -m scripts.make_sample`.

Needs the full MNIST as its four IDX files (checked against their SHA-256) and Debian's
dataset-fashion-mnist (Fashion-MNIST); same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from mnist_mlp import data, datafiles

SAMPLE_SEED = 0  # fixes which images are drawn, their order and Fashion-MNIST's test split
PER_CLASS = 500  # Fashion-MNIST images of each class in its sample: 5,000 in all
TEST_FRACTION = 0.2  # 100 of each class's 500 go to test: 4,000 train / 1,000 test
MNIST_TRAIN_PER_CLASS = 400  # digits of each class from MNIST's 60,000 training digits: 4,000
MNIST_TEST_PER_CLASS = 100  # digits of each class from MNIST's 10,000 test digits: 1,000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp, so regenerating gives identical files
FASHION_DIR = data.DEBIAN_DATASETS_DIR / "fashion-mnist"
# SHA-256 of each uncompressed IDX file as LeCun published it; gzipped copies are checked unzipped.
MNIST_SHA256 = {
    "x_train": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "y_train": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "x_test": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "y_test": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def check_mnist_files(folder: Path) -> None:
    """Check that `folder` holds the original MNIST: each IDX file's SHA-256 as published.

    Raises:
        datafiles.DataError: a file is missing or its contents differ from MNIST's.
    """
    for key, expected in MNIST_SHA256.items():
        path = datafiles._find_idx(folder, key)  # the file data.load(folder) will read
        content = path.read_bytes()
        if content[:2] == datafiles.GZIP_MAGIC:
            content = gzip.decompress(content)
        found = hashlib.sha256(content).hexdigest()
        if found != expected:
            raise datafiles.DataError(
                f"{path}: not the original MNIST file: SHA-256 {found}, expected {expected}. "
                "Fetch it again with `python -m mnist_mlp fetch mnist`, or name a folder holding "
                "the original four IDX files with --mnist-dir."
            )


def default_mnist_dir() -> Path:
    """Where `python -m mnist_mlp fetch mnist` puts MNIST's IDX files: the Keras cache's `mnist`."""
    return data._keras_cache_dir() / "mnist"


def mnist_sample(folder: Path | None = None) -> datafiles.Arrays:
    """400 digits per class from MNIST's training set and 100 from its test set, each part shuffled.

    Each part comes from its own split, so a model trained on the full MNIST never saw the test part.
    `folder` holds the four IDX files (default: `default_mnist_dir()`). Returns (4000, 28, 28)
    and (1000, 28, 28) uint8 images, ink white on black, with their (n,) uint8 labels 0..9.
    """
    folder = default_mnist_dir() if folder is None else folder
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
        "--mnist-dir", type=Path, default=default_mnist_dir(), help="MNIST's four IDX files (%(default)s)"
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
