"""What a folder holds, file by file, so a test can assert that a refused change left it as it was."""

from __future__ import annotations

from pathlib import Path


def files_and_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too), by its path relative to it, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
