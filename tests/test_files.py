"""files.exchange, the atomic swap a replace relies on: it swaps, says when it cannot, and fails loudly."""

import ctypes
import errno

import pytest

from mnist_mlp import files


@pytest.fixture
def two_folders(tmp_path):
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name)
    return tmp_path / "first", tmp_path / "second"


def contents(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def failing_renameat2(code: int):
    """A stand-in for the C library's renameat2 that fails with errno `code`, as a kernel would."""

    def renameat2(*args) -> int:
        ctypes.set_errno(code)
        return -1

    return lambda: renameat2


@pytest.mark.skipif(files._renameat2() is None, reason="no renameat2 in this C library")
def test_two_folders_swap_names_in_one_step(two_folders):
    first, second = two_folders
    if not files.exchange(first, second):
        pytest.skip("this filesystem cannot exchange")
    assert contents(first) == ["second.txt"] and contents(second) == ["first.txt"]


@pytest.mark.skipif(files._renameat2() is None, reason="no renameat2 in this C library")
def test_a_missing_target_is_a_file_not_found_error_and_nothing_moves(two_folders):
    first, second = two_folders
    with pytest.raises(FileNotFoundError):
        files.exchange(first, second.parent / "gone")
    assert contents(first) == ["first.txt"]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP])
def test_a_system_that_cannot_exchange_says_false(two_folders, monkeypatch, code):
    monkeypatch.setattr(files, "_renameat2", failing_renameat2(code))
    assert files.exchange(*two_folders) is False


def test_no_renameat2_at_all_says_false(two_folders, monkeypatch):
    monkeypatch.setattr(files, "_renameat2", lambda: None)
    assert files.exchange(*two_folders) is False
    assert contents(two_folders[0]) == ["first.txt"]


def test_any_other_failure_is_an_os_error_with_its_errno(two_folders, monkeypatch):
    monkeypatch.setattr(files, "_renameat2", failing_renameat2(errno.EACCES))
    with pytest.raises(PermissionError) as raised:
        files.exchange(*two_folders)
    assert raised.value.errno == errno.EACCES and raised.value.filename2 == str(two_folders[1])
