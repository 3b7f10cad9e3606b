"""TensorFlow's start-up noise kept off the command line: oneDNN, absl, CUDA-not-found and TF Lite lines.

TF_CPP_MIN_LOG_LEVEL quiets only part of it: since TensorFlow 2.16 its native libraries log through
absl before anything initialises absl's logging, and those lines ("oneDNN custom operations are
on", "All log messages before absl::InitializeLog() ...") ignore every environment variable
(tensorflow/tensorflow#62770, #100442). So while `tensorflow_quiet` is in force, whatever native code
writes to file descriptor 2 passes through a filter that drops lines in absl's and TensorFlow's log
formats, and Python's own `sys.stderr` keeps its terminal.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"  # TensorFlow's own switch: 2 leaves out its INFO and WARNING
PYTHON_LOGGERS = ("absl", "tensorflow")  # absl-py's and TensorFlow's Python loggers: errors only
NOISE = re.compile(
    r"[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "  # absl: I0000 00:00:1796185606.129118   11701 port.cc:153] ...
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] "  # TensorFlow's: 2024-01-09 17:38:41.470429: I ...
    r"|(E\d{4} [\d:.]+\s+\d+ \S+:\d+\] |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: E \S+\] )"
    r"(Unable to register cu|failed call to cuInit)"  # errors only where they say no GPU is there
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .*rebuild TensorFlow"  # cpu_feature_guard's second line
    r"|INFO: Created TensorFlow Lite XNNPACK delegate"
)  # F (fatal) lines, other errors and anything else pass


def is_noise(line: str) -> bool:
    """Whether `line`, one line of native stderr, is TensorFlow's chatter rather than news for people."""
    return NOISE.match(line) is not None


@contextlib.contextmanager
def tensorflow_quiet() -> Iterator[None]:
    """While inside: TensorFlow's log level at 2 (unless the environment sets one), absl's and
    TensorFlow's Python loggers at ERROR, and the native libraries' log lines filtered out of stderr.
    Set before TensorFlow is imported, as the native libraries read the level when they load."""
    os.environ.setdefault(LOG_LEVEL_ENV, "2")
    loggers = [logging.getLogger(name) for name in PYTHON_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with _native_stderr_filtered():
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """File descriptor 2 through a pipe to a filter process that drops noise lines and passes the rest
    on; a `sys.stderr` that wrote to descriptor 2 writes to the original directly, so that it stays a
    terminal (the progress bar asks) and its lines never wait on the filter.

    A process rather than a thread: when TensorFlow aborts after a fatal line ("Check failed"), the
    filter outlives it and still prints what was in the pipe. Its own session keeps a Ctrl-C at the
    terminal for the command alone.
    """
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    package_parent = str(Path(__file__).resolve().parent.parent)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])),
    }
    filter_process = subprocess.Popen(
        [sys.executable, "-m", "mnist_mlp.quiet"],
        stdin=read_end, stdout=original, stderr=original, env=environment, start_new_session=True,
    )  # fmt: skip
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    python_stderr = sys.stderr
    if _writes_to_descriptor_2(python_stderr):
        sys.stderr = open(  # noqa: SIM115 (closed below, once the block is done)
            os.dup(original), "w", buffering=1, encoding=python_stderr.encoding, errors="backslashreplace"
        )
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(original, 2)  # the pipe's last writer goes: the filter sees its end
        with contextlib.suppress(subprocess.TimeoutExpired):  # a child still holds it: it ends after
            filter_process.wait(timeout=5)
        os.close(original)


def _writes_to_descriptor_2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, io.UnsupportedOperation):  # pytest's capsys, a StringIO
        return False


def _pass_on(read_end: int, destination: int) -> None:
    """Copy whole lines from `read_end` to `destination`, leaving out the noise, until the pipe closes."""
    pending = b""
    with open(read_end, "rb", buffering=0, closefd=False) as source:
        while chunk := source.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = [line for line in lines if not is_noise(line.decode(errors="replace"))]
            _write_all(destination, b"".join(line + b"\n" for line in kept))
    if not is_noise(pending.decode(errors="replace")):
        _write_all(destination, pending)


def _write_all(descriptor: int, data: bytes) -> None:
    while data:
        data = data[os.write(descriptor, data) :]


if __name__ == "__main__":  # the filter process of `_native_stderr_filtered`: standard input to output
    _pass_on(0, 1)
