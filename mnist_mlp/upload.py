"""A model someone brings as a .keras file, into the library: checked and loaded safely, tested on the
dataset it reads, given a card that says where it came from, and saved (see `rights`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_mlp import cards, rights, safety, store

if TYPE_CHECKING:
    from mnist_mlp.data import Dataset
    from mnist_mlp.evaluate import Evaluation


@dataclass(frozen=True, eq=False)
class Added:
    """An uploaded model as saved: its name and folder, whether it replaced one, its test results."""

    name: str
    path: Path
    replaced: bool
    test: Evaluation  # on the dataset's test set


def add(
    actor: rights.Actor,
    payload: bytes,
    filename: str,
    dataset: Dataset,
    name: str = "",
    store_folder: str | os.PathLike | None = None,
) -> Added:
    """Check, load, test, card and save an uploaded .keras file as `actor`.

    A model of that name that `actor` may replace is replaced; anyone else's, or a shipped one, is not.

    Args:
        payload: the file's bytes (at most `safety.MAX_FILE_BYTES`).
        filename: the file's name as uploaded, e.g. "friend.keras", for the card and messages.
        dataset: what the model reads; its test set is the card's.
        name: the name to save under; "" for the file's name without ".keras".
    Raises:
        ValueError: a file that is not a safe .keras MLP of 28x28 images, a bad name, or one that
            `actor` may not replace. OSError: the store cannot be written.
    """
    from mnist_mlp import evaluate

    name = store.check_name(name.strip() or filename.removesuffix(".keras"))  # before the slow steps
    network = safety.load_keras_bytes(payload, label=filename)
    test = evaluate.evaluate(network, dataset.x_test, dataset.y_test)
    card = cards.upload_card(name, network, dataset, filename, test)
    path, replaced = rights.save(
        actor, network, card, uploaded=True, overwrite=True, store_folder=store_folder
    )
    return Added(name, path, replaced, test)
