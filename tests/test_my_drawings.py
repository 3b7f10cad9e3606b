"""My drawings: real files on disk, atomic saves (one killed mid-save), exports read back exactly."""

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp import data, datafiles, my_drawings

ROOT = Path(__file__).resolve().parent.parent


def stroke(column: int, value: int = 255) -> np.ndarray:
    """A known (28, 28) uint8 image: a vertical bar at `column`."""
    image = np.zeros((28, 28), np.uint8)
    image[4:24, column : column + 3] = value
    return image


def test_a_saved_drawing_reads_back_pixel_for_pixel_with_its_label(tmp_path):
    image = stroke(12)
    image[10, 5] = 7  # a faint pixel survives exactly: PNG is lossless
    saved = my_drawings.save(image, 7, "mnist", tmp_path)
    assert saved.path.parent == tmp_path / "mnist" and saved.path.suffix == ".png"
    assert saved.label == 7 and abs(saved.created - time.time()) < 60
    assert my_drawings.list_drawings("mnist", tmp_path) == [saved]
    np.testing.assert_array_equal(my_drawings.read(saved), image)
    assert my_drawings.is_collection(tmp_path)


def test_float_images_from_the_canvas_are_stored_as_uint8(tmp_path):
    image = np.zeros((28, 28), np.float32)
    image[5:20, 14] = 1.0
    image[5, 5] = 0.5
    saved = my_drawings.save(image, 1, folder=tmp_path)
    pixels = my_drawings.read(saved)
    assert pixels[10, 14] == 255 and pixels[5, 5] == 128 and pixels.dtype == np.uint8


def test_digits_and_clothes_stay_apart_and_listing_is_oldest_first(tmp_path):
    first = my_drawings.save(stroke(3), 3, "mnist", tmp_path)
    coat = my_drawings.save(stroke(8), 4, "fashion_mnist", tmp_path)
    second = my_drawings.save(stroke(20), 0, "mnist", tmp_path)
    assert my_drawings.list_drawings("mnist", tmp_path) == [first, second]
    assert my_drawings.list_drawings("fashion_mnist", tmp_path) == [coat]
    images, labels, problems = my_drawings.arrays("mnist", tmp_path)
    np.testing.assert_array_equal(images, np.stack([stroke(3), stroke(20)]))
    assert labels.tolist() == [3, 0] and labels.dtype == np.uint8 and problems == []


@pytest.mark.parametrize(
    ("image", "label", "dataset", "message"),
    [
        (np.zeros((28, 27), np.uint8), 1, "mnist", "shape=(28, 27)"),
        (np.full((28, 28), 2.0), 1, "mnist", "values in 2..2"),
        (np.full((28, 28), np.nan), 1, "mnist", "NaN or infinite"),
        (np.ones((28, 28), np.int64), 1, "mnist", "dtype=int64"),
        (np.zeros((28, 28), np.uint8), 1, "mnist", "blank"),
        (stroke(5), 10, "mnist", "label=10"),
        (stroke(5), True, "mnist", "label=True"),
        (stroke(5), "7", "mnist", "label='7'"),
        (stroke(5), 1, "cifar10", "'cifar10'"),
    ],
)
def test_bad_drawings_are_refused_and_nothing_is_written(tmp_path, image, label, dataset, message):
    with pytest.raises(my_drawings.DrawingsError, match=re.escape(message)):
        my_drawings.save(image, label, dataset, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_folder_comes_from_the_argument_then_the_environment_then_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(my_drawings.DRAWINGS_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert my_drawings.drawings_dir() == tmp_path / "xdg" / "mnist-mlp" / "drawings"
    monkeypatch.setenv(my_drawings.DRAWINGS_ENV, str(tmp_path / "env"))
    assert my_drawings.drawings_dir() == tmp_path / "env"
    assert my_drawings.drawings_dir(tmp_path / "given") == tmp_path / "given"
    saved = my_drawings.save(stroke(9), 2)
    assert saved.path.parent == tmp_path / "env" / "mnist"


def test_delete_removes_one_drawing_and_a_second_delete_says_so(tmp_path):
    keep = my_drawings.save(stroke(4), 1, folder=tmp_path)
    gone = my_drawings.save(stroke(6), 2, folder=tmp_path)
    my_drawings.delete(gone)
    assert my_drawings.list_drawings(folder=tmp_path) == [keep]
    with pytest.raises(my_drawings.DrawingsError, match="already deleted"):
        my_drawings.delete(gone)


def test_no_drawings_is_a_clear_error_everywhere(tmp_path):
    my_drawings.save(stroke(4), 1, "mnist", tmp_path)
    with pytest.raises(
        my_drawings.DrawingsError, match=r"No clothes drawings in .*Save some on the Draw page"
    ):
        my_drawings.as_dataset("fashion_mnist", tmp_path)
    with pytest.raises(datafiles.DataError, match="No digits drawings"):  # a DataError, as data.load raises
        my_drawings.npz_bytes("mnist", tmp_path / "empty")


def test_concurrent_saves_each_get_their_own_file(tmp_path):
    def save_many(label):
        for _ in range(10):
            my_drawings.save(stroke(label * 2), label, folder=tmp_path)

    threads = [threading.Thread(target=save_many, args=(label,)) for label in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = my_drawings.list_drawings(folder=tmp_path)
    assert len(listed) == 40 and len({d.id for d in listed}) == 40
    images, labels, _ = my_drawings.arrays(folder=tmp_path)
    for image, label in zip(images, labels, strict=True):
        np.testing.assert_array_equal(image, stroke(int(label) * 2))


KILLED_MID_SAVE = """
import os, signal, sys
import numpy as np
from mnist_mlp import my_drawings
folder = sys.argv[1]
for label in range(3):
    image = np.zeros((28, 28), np.uint8); image[4:24, label * 5 : label * 5 + 3] = 255
    my_drawings.save(image, label, folder=folder)
print("saved 3", flush=True)
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # die with the new file half done
image = np.zeros((28, 28), np.uint8); image[10:20, 10:20] = 255
my_drawings.save(image, 9, folder=folder)
print("not reached", flush=True)
"""


def test_a_save_killed_part_way_loses_nothing_and_its_temporary_is_cleaned(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", KILLED_MID_SAVE, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL and done.stdout == "saved 3\n"
    temporaries = list((tmp_path / "mnist").glob(".saving-*"))
    assert len(temporaries) == 1  # the interrupted save left only its hidden temporary
    listed = my_drawings.list_drawings(folder=tmp_path)
    assert [d.label for d in listed] == [0, 1, 2]
    loaded = data.load("mnist", tmp_path)  # the collection still loads as a dataset
    assert loaded.y_test.tolist() == [0, 1, 2] and "my drawings: 3" in loaded.source
    an_hour_ago = time.time() - my_drawings.STALE_TEMP_SECONDS - 60
    os.utime(temporaries[0], (an_hour_ago, an_hour_ago))
    my_drawings.list_drawings(folder=tmp_path)
    assert not temporaries[0].exists()


def test_a_partial_or_foreign_file_is_skipped_and_reported_not_fatal(tmp_path):
    good = my_drawings.save(stroke(10), 5, folder=tmp_path)
    (tmp_path / "mnist" / ".saving-abc123").write_bytes(good.path.read_bytes()[:20])  # fresh, partial
    truncated = tmp_path / "mnist" / "3-20240101T000000000000-0123abcd.png"
    truncated.write_bytes(good.path.read_bytes()[:30])
    (tmp_path / "mnist" / "notes.txt").write_text("not a drawing")
    assert [d.path for d in my_drawings.list_drawings(folder=tmp_path)] == [truncated, good.path]
    images, labels, problems = my_drawings.arrays(folder=tmp_path)
    assert labels.tolist() == [5] and len(problems) == 1 and "3-20240101" in problems[0]
    assert (tmp_path / "mnist" / ".saving-abc123").exists()  # young: perhaps a save in progress


def test_npz_export_reads_back_through_datafiles_read_npz(tmp_path):
    saved = [my_drawings.save(stroke(c), c % 10, folder=tmp_path) for c in (2, 7, 11, 19)]
    path = my_drawings.export(tmp_path / "out" / "mine.npz", folder=tmp_path)
    x_train, y_train, x_test, y_test = datafiles.read_npz(path)
    expected = np.stack([stroke(c) for c in (2, 7, 11, 19)])
    for images, labels in ((x_train, y_train), (x_test, y_test)):
        np.testing.assert_array_equal(images, expected)
        assert labels.tolist() == [d.label for d in saved]
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(datafiles.NPZ_KEYS)


def test_idx_export_reads_back_through_datafiles_read_idx_and_load(tmp_path):
    my_drawings.save(stroke(1), 4, "fashion_mnist", tmp_path)
    my_drawings.save(stroke(15), 8, "fashion_mnist", tmp_path)
    out = my_drawings.export(tmp_path / "idx", "fashion_mnist", tmp_path)
    images = datafiles.read_idx(out / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(images, np.stack([stroke(1), stroke(15)]))
    assert datafiles.read_idx(out / "t10k-labels-idx1-ubyte.gz").tolist() == [4, 8]
    loaded = data.load("fashion_mnist", out)
    assert loaded.y_train.tolist() == [4, 8] and loaded.class_names[8] == "Bag"
    with zipfile.ZipFile(io.BytesIO(my_drawings.idx_zip_bytes("fashion_mnist", tmp_path))) as z:
        assert sorted(z.namelist()) == sorted(f"{s}-{k}-ubyte.gz" for s, k in datafiles.IDX_FILES.values())


def test_mix_repeats_each_drawing_the_given_number_of_times():
    x = np.zeros((5, 28, 28), np.uint8)
    y = np.arange(5, dtype=np.uint8)
    mine, labels = np.stack([stroke(3), stroke(9)]), np.array([7, 8], np.uint8)
    mixed_x, mixed_y = my_drawings.mix(x, y, mine, labels, 3)
    assert mixed_x.shape == (11, 28, 28) and mixed_y.tolist() == [0, 1, 2, 3, 4, 7, 8, 7, 8, 7, 8]
    np.testing.assert_array_equal(mixed_x[-1], stroke(9))
    with pytest.raises(my_drawings.DrawingsError, match="times=0"):
        my_drawings.mix(x, y, mine, labels, 0)


def test_a_collection_lives_inside_the_drawings_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(my_drawings.DRAWINGS_ENV, str(tmp_path / "root"))
    assert my_drawings.collection_dir("") == tmp_path / "root"
    assert my_drawings.collection_dir(" lesson 2 ") == tmp_path / "root" / "lesson 2"
    for name in ("../up", "/etc", "a/b", "nul", ".hidden", "x" * 80, "mnist", "fashion_mnist"):
        with pytest.raises(my_drawings.DrawingsError, match="Invalid collection name"):
            my_drawings.collection_dir(name)


def test_a_file_named_like_a_drawing_but_with_no_date_is_skipped(tmp_path):
    good = my_drawings.save(stroke(10), 4, folder=tmp_path)
    (tmp_path / "mnist" / "3-20261399T250000000000-abcdef12.png").write_bytes(good.path.read_bytes())
    assert [d.path for d in my_drawings.list_drawings(folder=tmp_path)] == [good.path]


def test_mix_refuses_drawings_it_would_corrupt(digits):
    x, y = digits.x_train[:10], digits.y_train[:10]
    with pytest.raises(my_drawings.DrawingsError, match="uint8 drawings"):
        my_drawings.mix(x, y, np.full((2, 28, 28), 0.9, np.float32), np.array([1, 2]), 1)
    with pytest.raises(my_drawings.DrawingsError, match=r"labels in 0\.\.9"):
        my_drawings.mix(x, y, x[:2], np.array([300, -1]), 1)
