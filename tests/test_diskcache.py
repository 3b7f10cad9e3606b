"""The disk cache: a second call reads what the first made; a truncated, corrupt or stale entry is
made again with a logged line; nothing is kept when it is off or cannot be written."""

import logging
import os

import numpy as np
import pytest

from mnist_mlp import diskcache

KEY = {"data": "abc", "seed": 3, "settings": (1, 2)}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(diskcache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class Maker:
    """Makes known arrays and counts its calls."""

    def __init__(self, value: int = 7) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return {"images": np.full((50, 28, 28), self.value, np.uint8), "labels": np.arange(50)}


def _entry(folder) -> os.PathLike:
    (path,) = folder.glob("renders-*.npz")
    return path


def test_the_second_call_reads_what_the_first_made(folder):
    make = Maker()
    first = diskcache.cached("renders", KEY, make)
    again = diskcache.cached("renders", dict(KEY), make)
    assert make.calls == 1
    for name in ("images", "labels"):
        np.testing.assert_array_equal(again[name], first[name])
    assert again["images"].dtype == np.uint8 and again["labels"].dtype == first["labels"].dtype
    other = diskcache.cached("renders", {**KEY, "seed": 4}, Maker(9))  # another key: another entry
    assert other["images"][0, 0, 0] == 9 and len(list(folder.glob("renders-*.npz"))) == 2
    assert not list(folder.glob(".*.tmp"))  # written to a temporary file and renamed in


def _made_again(folder, caplog, spoil) -> str:
    """Spoil a sound entry, read it: the arrays are made again. Returns the warning logged."""
    diskcache.cached("renders", KEY, Maker())
    spoil(_entry(folder))
    make = Maker()
    with caplog.at_level(logging.WARNING, logger="mnist_mlp.diskcache"):
        arrays = diskcache.cached("renders", KEY, make)
    assert make.calls == 1  # not trusted
    assert arrays["images"][0, 0, 0] == 7
    assert "Making renders again" in caplog.text
    warning = caplog.text
    assert diskcache.cached("renders", KEY, make)["labels"][-1] == 49 and make.calls == 1  # sound again
    return warning


def test_a_truncated_entry_is_made_again(folder, caplog):
    def truncate(path):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    _made_again(folder, caplog, truncate)


def test_a_corrupt_entry_is_made_again(folder, caplog):
    def flip_a_pixel(path):
        data = bytearray(path.read_bytes())
        data[data.find(bytes([7] * 64))] = 8  # inside the images' bytes
        path.write_bytes(bytes(data))

    _made_again(folder, caplog, flip_a_pixel)


def test_an_entry_whose_arrays_do_not_match_their_checksums_is_made_again(folder, caplog):
    def rewrite_with_other_pixels(path):  # a sound zip file, the manifest of other arrays
        with np.load(path) as entry:
            members = {name: entry[name] for name in entry.files}
        members["images"][3, 4, 5] = 0
        np.savez(path, **members)

    assert "does not match its checksum" in _made_again(folder, caplog, rewrite_with_other_pixels)


def test_an_entry_made_for_another_key_is_made_again(folder, caplog):
    def replace_with_another_keys_entry(path):
        diskcache.cached("renders", {**KEY, "seed": 99}, Maker(1))
        other = next(p for p in folder.glob("renders-*.npz") if p != path)
        os.replace(other, path)

    _made_again(folder, caplog, replace_with_another_keys_entry)


def test_garbage_in_place_of_an_entry_is_made_again(folder, caplog):
    _made_again(folder, caplog, lambda path: path.write_bytes(b"not a zip file at all"))


def test_off_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(diskcache.CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    make = Maker()
    diskcache.cached("renders", KEY, make)
    diskcache.cached("renders", KEY, make)
    assert make.calls == 2 and diskcache.folder() is None and not any(tmp_path.iterdir())


def test_the_default_folder_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv(diskcache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert diskcache.folder() == tmp_path / "mnist-mlp"


def test_a_folder_that_cannot_be_written_costs_time_not_the_result(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(diskcache.CACHE_ENV, str(blocker / "cache"))  # under a file: cannot be made
    with caplog.at_level(logging.WARNING, logger="mnist_mlp.diskcache"):
        arrays = diskcache.cached("renders", KEY, Maker())
    assert arrays["images"].shape == (50, 28, 28) and "Could not keep renders" in caplog.text


def test_only_the_most_recently_used_entries_are_kept(folder, monkeypatch):
    monkeypatch.setattr(diskcache, "MAX_ENTRIES", 3)
    for seed in range(5):
        diskcache.cached("renders", {**KEY, "seed": seed}, Maker(seed))
        for path in folder.glob("renders-*.npz"):  # mtimes a second apart: the order is clear
            os.utime(path, (path.stat().st_mtime - 1,) * 2)
    assert len(list(folder.glob("renders-*.npz"))) == 3
    make = Maker(0)
    assert diskcache.cached("renders", {**KEY, "seed": 4}, make)["images"][0, 0, 0] == 4 and make.calls == 0
    diskcache.cached("renders", {**KEY, "seed": 0}, make)
    assert make.calls == 1  # the oldest went first


def test_digest_names_data_by_its_content():
    images = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert diskcache.digest(images) == diskcache.digest(images.copy())
    assert diskcache.digest(images) != diskcache.digest(images.reshape(4, 3))  # the shape counts
    assert diskcache.digest(images) != diskcache.digest(images.astype(np.int16))  # and the dtype
    changed = images.copy()
    changed[1, 1] += 1
    assert diskcache.digest(images) != diskcache.digest(changed)
    assert diskcache.code_version("mnist_mlp.pen") != diskcache.code_version("mnist_mlp.ink")
