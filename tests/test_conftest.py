"""The tests' own setup: sealed from the machine's folders, and under $CI a skip is a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp import data, my_drawings
from tests.conftest import SEALED

ROOT = Path(__file__).resolve().parents[1]
REAL_DEBIAN_FASHION = data.DEBIAN_DATASETS_DIR / "fashion-mnist"


# ---- The seal -----------------------------------------------------------------------------------


@pytest.fixture
def home_with_mnist(tmp_path, monkeypatch) -> Path:
    """A home folder holding ~/.keras/datasets/mnist.npz (20 blank images), set as $HOME."""
    home = tmp_path / "home"
    cache = home / ".keras" / "datasets"
    cache.mkdir(parents=True)
    blank, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.uint8)
    np.savez(cache / "mnist.npz", x_train=blank, y_train=labels, x_test=blank, y_test=labels)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_each_machine_folder_points_into_one_temporary_folder():
    root = Path(os.environ["MNIST_MLP_TEST_SEAL"])
    assert root.is_relative_to(tempfile.gettempdir()) and root.name.startswith("mnist-mlp-sealed-")
    for name, variable in SEALED.items():
        assert Path(os.environ[variable]) == root / name
    assert data.keras_cache_dir() == root / "keras" / "datasets"
    assert all(path.is_relative_to(root) for path, _, _ in data._local_sources("fashion_mnist"))
    assert my_drawings.drawings_dir() == root / "drawings"


def test_a_keras_cache_in_the_home_folder_is_not_seen(home_with_mnist):
    loaded = data.load("mnist", allow_download=False)
    assert loaded.is_sample and loaded.source.startswith("bundled sample")
    assert len(loaded.x_test) == 1000  # the sample's, not the home folder's 10


@pytest.mark.real_folders("keras")
def test_a_test_that_asks_sees_the_home_folders_keras_cache(home_with_mnist):
    """The control for the test above: without the seal, the same home folder's file is loaded."""
    loaded = data.load("mnist", allow_download=False)
    assert loaded.source == f"Keras cache {home_with_mnist / '.keras' / 'datasets' / 'mnist.npz'}"
    assert len(loaded.x_test) == 10


def test_debians_datasets_folder_is_not_seen():
    loaded = data.load("fashion_mnist", allow_download=False)
    assert loaded.is_sample and str(data.DEBIAN_DATASETS_DIR) not in loaded.source


@pytest.mark.real_folders("datasets")
@pytest.mark.skipif(not REAL_DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is absent")
def test_a_test_that_asks_sees_debians_datasets_folder():
    loaded = data.load("fashion_mnist", allow_download=False)
    assert loaded.source == f"{REAL_DEBIAN_FASHION} (Debian package dataset-fashion-mnist)"


@pytest.mark.real_folders("drawings")
def test_a_test_that_asks_sees_the_users_drawings_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert my_drawings.drawings_dir() == tmp_path / "xdg" / "mnist-mlp" / "drawings"


def test_a_process_the_tests_start_is_sealed_too(home_with_mnist):
    """What a CLI run or an app server started by a test sees (they inherit the environment)."""
    script = (
        "from mnist_mlp import data, my_drawings; "
        "print(data.load('mnist').source); print(data.load('fashion_mnist').is_sample); "
        "print(my_drawings.drawings_dir())"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    source, fashion_sample, drawings_folder = completed.stdout.splitlines()
    assert source.startswith("bundled sample") and fashion_sample == "True"
    assert drawings_folder == os.environ[my_drawings.DRAWINGS_ENV]


# ---- Skips under CI -----------------------------------------------------------------------------

TINY_TESTS = """
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="no chromium")
def test_skipped_by_a_marker():
    pass

def test_skipped_inside():
    pytest.skip("no Debian Fashion-MNIST")

@pytest.fixture
def browser():
    pytest.skip("no browser")

def test_skipped_by_its_fixture(browser):
    pass

@pytest.mark.xfail(reason="a known bug")
def test_expected_to_fail():
    assert False
"""
SKIPPED_MODULE = 'import pytest\npytest.importorskip("no_such_module_here")\n\ndef test_never():\n    pass\n'


def run_pytest(folder: Path, ci: str | None, *arguments: str) -> subprocess.CompletedProcess:
    """pytest on `folder` with only our CI plugin, and $CI set to `ci` (None: unset)."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env |= {"PYTHONPATH": str(ROOT)} | ({"CI": ci} if ci is not None else {})
    command = [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider",
               "-q", "-rfEs", "--rootdir", str(folder), *arguments, str(folder)]  # fmt: skip
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tiny_suite(tmp_path) -> Path:
    (tmp_path / "test_tiny.py").write_text(TINY_TESTS)
    return tmp_path


def test_without_ci_a_skip_is_a_line_in_the_summary(tiny_suite):
    completed = run_pytest(tiny_suite, None)
    assert completed.returncode == 0, completed.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in completed.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_every_kind_of_skip_fails(tiny_suite, ci):
    completed = run_pytest(tiny_suite, ci)
    assert completed.returncode == 1, completed.stdout
    summary = completed.stdout.strip().splitlines()[-1]
    assert "1 passed" in summary and "1 xfailed" in summary and "skipped" not in summary
    assert "1 failed" in summary and "2 errors" in summary  # skipif and the fixture skip at setup
    for reason in ("no chromium", "no Debian Fashion-MNIST", "no browser"):
        assert f"test skipped under CI={ci}, where every test must run: {reason}" in completed.stdout


@pytest.mark.parametrize("ci", ["", "0", "false"])
def test_ci_set_to_nothing_or_false_leaves_skips_alone(tiny_suite, ci):
    assert run_pytest(tiny_suite, ci).returncode == 0


def test_under_ci_a_module_skipped_at_import_fails(tmp_path):
    (tmp_path / "test_needs_a_module.py").write_text(SKIPPED_MODULE)
    quiet = run_pytest(tmp_path, None)
    assert quiet.returncode == pytest.ExitCode.NO_TESTS_COLLECTED and "1 skipped" in quiet.stdout
    completed = run_pytest(tmp_path, "true")
    assert completed.returncode == pytest.ExitCode.INTERRUPTED  # a collection error stops the run
    assert "module skipped under CI=true" in completed.stdout and "no_such_module_here" in completed.stdout


def test_a_server_log_check_catches_our_tracebacks_and_lets_only_streamlits_known_race_pass():
    """The e2e server-log check: any traceback fails, except Streamlit's stale-widget race."""
    from tests.e2e.conftest import server_errors

    race = (
        "Exception in thread ScriptRunner.scriptThread:\nTraceback (most recent call last):\n"
        '  File "streamlit/runtime/state/session_state.py", line 1425, in _remove_stale_widgets\n'
        "    for key in self._old_state:\nRuntimeError: dictionary changed size during iteration\n"
    )
    ours = (
        'Traceback (most recent call last):\n  File "pages/draw.py", line 12, in <module>\n'
        "RuntimeError: dictionary changed size during iteration\n"
    )
    assert server_errors("started\n" + race) == []
    assert len(server_errors("started\n" + race + ours)) == 1
    assert len(server_errors("KeyError\nTraceback (most recent call last):\nKeyError: 'x'\n")) == 1
