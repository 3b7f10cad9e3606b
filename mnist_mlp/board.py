"""The class board: what a model reads in a collection of drawings the class is saving, and a copy of
the model fine-tuned on them, compared with the original on the drawings and on the test set.

A collection may be written by thirty people while it is read: a file that cannot be read (deleted
in between, or not a whole PNG) is skipped with a note, never fatal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp import datasets, my_drawings, run, store
from mnist_mlp.model import LOSS, NUM_CLASSES

if TYPE_CHECKING:
    import threading

    import keras

    from mnist_mlp import rights, train
    from mnist_mlp.evaluate import Evaluation

LATEST = 24  # drawings on the board's grid, newest first: three rows on a projector
HARDEST = 8  # the drawings the model found hardest
FINE_TUNE_EPOCHS = 3  # enough to learn a class's drawings; the test set shows what it cost
FINE_TUNE_TIMES = 10  # copies of each drawing among the training images, so a few dozen count
REHEARSAL_IMAGES = 6000  # training images trained on beside the drawings, so the copy keeps what it
# knew; a cap keeps a fine-tune to seconds on the full 60,000 as on the bundled 3,600
TUNED_SUFFIX = "-tuned"


class BoardError(ValueError):
    """The board cannot do what was asked (no drawings yet, a model without a card...); says why."""


@dataclass(frozen=True, eq=False)
class Collection:
    """The readable drawings of one dataset in one collection folder, as they were when read."""

    dataset: str  # "mnist" | "fashion_mnist"
    folder: Path  # the collection (see `my_drawings.collection_dir`)
    drawings: tuple[my_drawings.Drawing, ...]  # oldest first
    images: np.ndarray  # (n, 28, 28) uint8 in 0..255, ink white on black
    labels: np.ndarray  # (n,) uint8 in 0..9, the classes the drawers said they drew
    skipped: tuple[str, ...]  # why each unreadable file was left out

    def as_dataset(self) -> datasets.Dataset:
        """The drawings as a Dataset (both halves hold them all), as `run.plan` mixes them in."""
        source = f"the class board's {len(self.labels):,} drawings in {self.folder / self.dataset}"
        names = datasets.class_names(self.dataset)
        return datasets.Dataset(
            self.dataset, source, self.images, self.labels, self.images, self.labels, names, False
        )


def read_collection(dataset: str = "mnist", folder: str | os.PathLike | None = None) -> Collection:
    """Every readable drawing of `dataset` in `folder`, oldest first; none is an empty Collection.

    Saves are atomic (a hidden temporary file renamed into place), so a file being saved is never
    seen half-written under its name; a file deleted or damaged meanwhile is skipped with a note.

    Raises:
        DrawingsError: an unknown dataset. OSError: the folder cannot be listed.
    """
    found, pixels, labels, skipped = my_drawings.read_all(dataset, folder)
    return Collection(dataset, my_drawings.drawings_dir(folder), tuple(found), pixels, labels, tuple(skipped))


def collections() -> list[str]:
    """The names of the collections in the drawings folder: "" (the main one) first, then by name."""
    root = my_drawings.drawings_dir()
    named = []
    if root.is_dir():
        for entry in root.iterdir():
            try:
                if entry.is_dir() and my_drawings.collection_dir(entry.name) == entry:
                    named.append(entry.name)
            except my_drawings.DrawingsError:  # a dataset folder of the main collection, or no name of ours
                continue
    return ["", *sorted(named, key=str.lower)]


def time_ago(then: float, now: float) -> str:
    """How long before `now` the moment `then` was (both seconds since the epoch), in words that read the
    same in every time zone: "just now", "12 s ago", "3 min ago", "2 h ago", "1 day ago", "5 days ago".

    A board on a server in UTC cannot show the class its own clock time; an age needs no time zone.
    Rounded down, so "1 min ago" starts at 60 s. A `then` after `now` (clocks a little apart) is "just now".
    """
    seconds = int(now - then) if now > then else 0
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


@dataclass(frozen=True, eq=False)
class BoardSummary:
    """What a model reads in a collection: per drawing, in all, and where it goes wrong."""

    collection: Collection
    probabilities: np.ndarray  # (n, 10) float32, rows sum to 1
    reads: np.ndarray  # (n,) int: the class the model reads in each drawing
    right: np.ndarray  # (n,) bool: read as the label says
    confusion: np.ndarray  # (10, 10) int counts: row = true class, column = class read
    true_probability: np.ndarray  # (n,) float: the model's probability for each drawing's label
    latest: tuple[int, ...]  # indices of the newest drawings, newest first (at most LATEST)
    hardest: tuple[int, ...]  # indices of the lowest true_probability first (at most HARDEST)

    @property
    def count(self) -> int:
        return len(self.reads)

    @property
    def right_count(self) -> int:
        return int(self.right.sum())

    @property
    def accuracy(self) -> float | None:
        """Share read right, in [0, 1]; None with no drawings."""
        return self.right_count / self.count if self.count else None


def summary(
    model: keras.Model, collection: Collection, *, latest: int = LATEST, hardest: int = HARDEST
) -> BoardSummary:
    """What `model` reads in `collection`'s drawings, prepared as the Draw page saved them.

    Args:
        model: maps (n, 28, 28) images to (n, 10) probabilities (a store model).
        latest, hardest: how many drawings the grids of the newest and the hardest hold.
    """
    from mnist_mlp import evaluate
    from mnist_mlp import model as mlp

    labels = collection.labels.astype(np.int64)
    if len(labels):
        probabilities = mlp.predict(model, collection.images)
    else:
        probabilities = np.zeros((0, NUM_CLASSES), np.float32)
    reads = probabilities.argmax(axis=1)
    true_probability = probabilities[np.arange(len(labels)), labels]
    newest = sorted(range(len(labels)), key=lambda i: collection.drawings[i].created, reverse=True)
    hardest_first = np.argsort(true_probability, kind="stable")[:hardest]
    return BoardSummary(
        collection,
        probabilities,
        reads,
        reads == labels,
        evaluate.confusion_matrix(labels, reads),
        true_probability,
        tuple(newest[:latest]),
        tuple(int(i) for i in hardest_first),
    )


@dataclass(frozen=True, eq=False)
class FineTuned:
    """A copy of a model fine-tuned on a collection, and both models on the drawings and the test set."""

    source: str  # the original's name
    plan: run.Plan  # what the copy trained on (`run.save` writes its card from it)
    result: train.TrainResult  # the copy, trained; the original is untouched
    collection: Collection
    before_drawings: Evaluation  # the original on the drawings
    after_drawings: Evaluation  # the copy on the same drawings
    before_test: Evaluation  # the original on the dataset's test set
    after_test: Evaluation  # the copy on it: did it forget what it knew?

    @property
    def suggested_name(self) -> str:
        return self.plan.name

    @property
    def notes(self) -> str:
        """The saved copy's card note: where it came from."""
        return (
            f"Fine-tuned on the class board from {self.source!r}: {len(self.collection.labels)} drawings in "
            f"{self.collection.folder / self.collection.dataset}, each {self.plan.times} times, beside "
            f"{len(self.plan.split.y_train):,} of its training images, for {self.result.config.epochs} "
            "epochs."
        )


def fine_tune(
    loaded: store.LoadedModel,
    collection: Collection,
    dataset: datasets.Dataset,
    *,
    epochs: int = FINE_TUNE_EPOCHS,
    times: int = FINE_TUNE_TIMES,
    rehearsal: int = REHEARSAL_IMAGES,
    on_progress: Callable[[train.Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> FineTuned:
    """Fine-tune a copy of `loaded` on the collection's drawings, through the library's one training
    flow (`run.plan`, `train.train`); `loaded.model` itself is never changed.

    The copy goes on from the original's weights, optimizer moments, step count and history, on its
    own settings, for `epochs` epochs over `rehearsal` of `dataset`'s training images with each
    drawing mixed in `times` times. Pen strokes and images of no class are not made again (that
    takes minutes): the copy's card says so, and its Unsure detector is fitted on what it trained on.

    Args:
        dataset: the dataset the model reads; its test set tells whether the copy forgot.
        on_progress, stop: as `train.train` takes them.
    Raises:
        BoardError: no drawings, a model without a card, or a dataset that is not the model's.
    """
    from mnist_mlp import evaluate, train

    card = loaded.card
    if card is None:
        raise BoardError("This model has no card, so its settings are unknown: pick a saved model.")
    if not len(collection.labels):
        raise BoardError("No drawings in this collection yet: save some on the Draw page first.")
    if collection.dataset != dataset.name or card.dataset != dataset.name:
        raise BoardError(
            f"Expected drawings and a model of {dataset.name}. Received: drawings of "
            f"{collection.dataset} and a model of {card.dataset}."
        )
    config = card.config.replace(epochs=epochs, pen_strokes=0, outliers=0)
    name = tuned_name(card.name)
    plan = run.plan(dataset, config, _rehearsal(run.split(dataset, config.seed), rehearsal, config.seed),
                    collection.as_dataset(), times, name=name)  # fmt: skip
    before_drawings = evaluate.evaluate(loaded.model, collection.images, collection.labels)
    before_test = evaluate.evaluate(loaded.model, dataset.x_test, dataset.y_test)
    previous = train.TrainResult(
        model=copy_model(loaded.model),
        config=config,
        history=list(card.history),
        snapshots=dict(loaded.snapshots),
        seconds=card.training_seconds,
    )
    result = train.train(config, plan.training, previous=previous, on_progress=on_progress, stop=stop)
    return FineTuned(
        card.name,
        plan,
        result,
        collection,
        before_drawings,
        evaluate.evaluate(result.model, collection.images, collection.labels),
        before_test,
        evaluate.evaluate(result.model, dataset.x_test, dataset.y_test),
    )


def save(
    tuned: FineTuned, name: str, actor: rights.Actor, store_folder: str | os.PathLike | None = None
) -> tuple[Path, bool]:
    """Save the fine-tuned copy under `name` as `actor`, through `run.save` (card, Unsure detector,
    rights); the folder, and whether it replaced a model of the actor's.

    Raises:
        ValueError: a bad name, a shipped one, or one `actor` may not replace. OSError: no room.
    """
    return run.save(
        tuned.plan, tuned.result, name, actor, test=tuned.after_test, notes=tuned.notes,
        overwrite=True, store_folder=store_folder,
    )  # fmt: skip


def tuned_name(source: str) -> str:
    """A name for a fine-tuned copy of `source`: 'digits-mlp-tuned-20261202-0930', within 63 characters."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    head = source[: run.MAX_NAME_LENGTH - len(TUNED_SUFFIX) - len(stamp) - 1]
    return store.check_name(f"{head}{TUNED_SUFFIX}-{stamp}")


def copy_model(network: keras.Model) -> keras.Model:
    """A new model with `network`'s layers, weights and optimizer state; training it leaves `network` be.

    The optimizer's step count is carried, so history and snapshots go on from the original's.
    """
    import keras

    copy = keras.models.clone_model(network)
    copy.set_weights(network.get_weights())
    original = network.optimizer
    if original is None:  # never compiled: train compiles it
        return copy
    copy.compile(optimizer=type(original).from_config(original.get_config()), loss=LOSS)
    copy.optimizer.build(copy.trainable_variables)
    theirs = {variable.path: variable for variable in original.variables}
    for variable in copy.optimizer.variables:
        if variable.path in theirs:
            variable.assign(theirs[variable.path])
    return copy


def _rehearsal(split: datasets.Split, count: int, seed: int) -> datasets.Split:
    """`split` with at most `count` of its training images, drawn at random by `seed`, and all its
    validation images."""
    if len(split.y_train) <= count:
        return split
    keep = np.sort(np.random.default_rng(seed).choice(len(split.y_train), count, replace=False))
    return datasets.Split(split.x_train[keep], split.y_train[keep], split.x_val, split.y_val)
