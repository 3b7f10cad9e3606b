"""One training run, from data to saved model, for the command line and the app alike: the split and
what joins it, the run's name and counts, its test, card, Unsure detector and save. The two differ only
in how they train (`train.train` in the foreground, or a `job.TrainingJob`) and how they ask and show.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp import cards, data, datasets, rights, train, unsure

if TYPE_CHECKING:
    import os
    from pathlib import Path

    import keras

    from mnist_mlp.data import Dataset
    from mnist_mlp.evaluate import Evaluation
    from mnist_mlp.model import MLPConfig

MAX_NAME_LENGTH = 63  # store.check_name's limit
MIN_JOINED_VALIDATION = 20  # digits every joined network held out: with fewer the limits are guesses
VALIDATION_FRACTION = 0.1  # share of the training images held out to validate on (the app's; --validation)


def split(dataset: Dataset, seed: int, validation: float = VALIDATION_FRACTION) -> datasets.Split:
    """`dataset`'s training images with `validation` of them held out, the same for the same seed."""
    return data.split_validation(dataset.x_train, dataset.y_train, validation, seed=seed)


def with_extras(
    original: datasets.Split,
    config: MLPConfig,
    dataset_name: str,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> datasets.Split:
    """`original` with the pen-stroke renders and images of no class that `config` asks for
    (`train.with_extras`); `original` itself when it asks for none.

    on_progress: called with (what, done, total) while they are made.
    """
    if not (config.pen_strokes or config.outliers):
        return original
    return train.with_extras(original, config, dataset_name, on_progress)


def joined_split(
    dataset: Dataset,
    configs: list[MLPConfig],
    validation: float = VALIDATION_FRACTION,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> datasets.Split:
    """What a model joined from networks trained with `configs` (see `ensemble`) is described by: the
    first network's training images as it trained on them, and as validation only the digits that
    every network held out (each network's seed picks its own split, so one's validation images are
    another's training images), with one pen render of each when the networks drew pen strokes.
    """
    from mnist_mlp import pen

    indices = np.arange(len(dataset.y_train))
    held_out_by_all = np.ones(len(indices), bool)
    for config in configs:
        held_out = np.zeros(len(indices), bool)
        held_out[data.split_validation(indices, dataset.y_train, validation, seed=config.seed).x_val] = True
        held_out_by_all &= held_out
    if held_out_by_all.sum() < MIN_JOINED_VALIDATION:
        raise ValueError(
            f"Only {held_out_by_all.sum()} of the {len(indices):,} training images were held out by every "
            f"network (each network's seed picks its own {validation:.0%}), too few to set the Unsure limits "
            f"on; expected at least {MIN_JOINED_VALIDATION}. Join fewer networks, or train on more data."
        )
    x_val, y_val = dataset.x_train[held_out_by_all], dataset.y_train[held_out_by_all]
    if configs[0].pen_strokes:
        x_val, y_val = pen.add_renders(x_val, y_val, 1, seed=configs[0].seed + 1)
    first = with_extras(split(dataset, configs[0].seed, validation), configs[0], dataset.name, on_progress)
    return datasets.Split(first.x_train, first.y_train, x_val, y_val)


def suggested_name(dataset_name: str, config: MLPConfig) -> str:
    """A name to save a run under: 'mnist-784-128-10-20250101-120000-3fa2', unique to the second it
    started and to its config (the last four hex digits), so that Compare's two runs, started in the
    same second on one architecture (augmentation on and off), are not offered one name, the second
    save silently replacing the first. A deep net's architecture gives way to its layer count
    ('mnist-mlp6-...') where the name would pass `store.check_name`'s 63 characters.
    """
    settings = json.dumps(config.to_dict(), sort_keys=True).encode()
    tail = f"{time.strftime('%Y%m%d-%H%M%S')}-{hashlib.sha256(settings).hexdigest()[:4]}"
    name = f"{dataset_name}-{config.architecture}-{tail}"
    return name if len(name) <= MAX_NAME_LENGTH else f"{dataset_name}-mlp{len(config.hidden_units)}-{tail}"


@dataclass(frozen=True, eq=False)
class Plan:
    """What one run trains on, a name for it, and how its card counts its images.

    Args:
        dataset: the dataset trained on, whose test set the card reports.
        split: the training and validation images with their extras, without my drawings.
        drawings: my drawings to mix into the training images (fine-tuning), or None.
        times: how many copies of each drawing join the training images (1..1000 with drawings).
    """

    dataset: Dataset
    split: datasets.Split
    name: str  # the suggested name to save under
    drawings: Dataset | None = None
    times: int = 0

    @property
    def training(self) -> datasets.Split:
        """The split as trained on: my drawings appended `times` times each (`my_drawings.mix`).

        Made anew at each use, not kept: a session keeps its Plan for as long as it shows the run.
        """
        if self.drawings is None:
            return self.split
        from mnist_mlp import my_drawings

        mine = self.drawings
        x_train, y_train = my_drawings.mix(
            self.split.x_train, self.split.y_train, mine.x_train, mine.y_train, self.times
        )
        return datasets.Split(x_train, y_train, self.split.x_val, self.split.y_val)

    @property
    def samples(self) -> dict[str, int]:
        """Image counts for the card, e.g. {"train": 3600, "validation": 400, "test": 1000}."""
        mixed = 0 if self.drawings is None else len(self.drawings.y_train)
        counts = {
            "train": len(self.split.y_train) + self.times * mixed,
            "validation": len(self.split.y_val),
            "test": len(self.dataset.y_test),
        }
        return counts | ({"drawings": mixed} if mixed else {})

    def notes(self, notes: str = "") -> str:
        """The card's notes: `notes`, and what was mixed in."""
        if self.drawings is None:
            return notes
        mixed = f"Training mixed in {len(self.drawings.y_train)} of my drawings, each {self.times} times."
        return f"{notes} {mixed}".strip()


def plan(
    dataset: Dataset,
    config: MLPConfig,
    prepared: datasets.Split,
    drawings: Dataset | None = None,
    times: int = 0,
    name: str | None = None,
) -> Plan:
    """The Plan for training `config` on `prepared` (a `with_extras` split), with `drawings` mixed in
    `times` times each when `times` > 0, under `name` (default: `suggested_name`)."""
    mixing = drawings is not None and times > 0
    name = name or suggested_name(dataset.name, config)
    return Plan(dataset, prepared, name, drawings if mixing else None, times if mixing else 0)


def evaluate_test(plan: Plan, network: keras.Model) -> Evaluation:
    """The trained model on its dataset's test set."""
    from mnist_mlp import evaluate

    return evaluate.evaluate(network, plan.dataset.x_test, plan.dataset.y_test)


def unsure_detector(plan: Plan, network: keras.Model) -> unsure.Detector:
    """The trained model's Unsure detector, fitted on the training images as trained on, my drawings
    included, and its limits set on the validation images.

    Drawings included (as the command line always did; the app used to leave them out): the detector
    describes what the model learned from, so a model fine-tuned on my drawings must not call drawings
    like them foreign. Repeating each drawing weighs it as training did.
    """
    training = plan.training
    return unsure.fit(
        network, training.x_train, training.y_train, training.x_val, kind=data.ITEMS[plan.dataset.name]
    )


def fallback_detector(model: keras.Model, dataset: Dataset, *, seed: int = 0) -> unsure.Detector:
    """Unsure limits for a model saved without them (an upload, an older save): fitted on the dataset's
    training images and its validation split as `data.split_validation` makes it (originals only)."""
    x_train, y_train, x_val, _ = data.split_validation(dataset.x_train, dataset.y_train, seed=seed)
    return unsure.fit(model, x_train, y_train, x_val, kind=data.ITEMS.get(dataset.name, "digit"))


def save(
    plan: Plan,
    result: train.TrainResult,
    name: str,
    actor: rights.Actor,
    *,
    test: Evaluation | None,
    notes: str = "",
    command: str = "",
    overwrite: bool = False,
    store_folder: str | os.PathLike | None = None,
) -> tuple[Path, bool]:
    """Card, Unsure detector and save of a trained run, as `actor` (see `rights.save`); the model's
    folder, and whether it replaced one.

    Args:
        test: the model's results on the dataset's test set (`evaluate_test`), or None when not evaluated.
        notes: a note for the card; what was mixed in is added.
        command: the command line that reproduces the model, when it came from one.
    """
    card = cards.make_card(
        name, result, plan.dataset, plan.samples, test, notes=plan.notes(notes), command=command
    )
    detector = unsure_detector(plan, result.model)
    return rights.save(
        actor,
        result.model,
        card,
        overwrite=overwrite,
        snapshots=result.snapshots,
        detector=detector,
        store_folder=store_folder,
    )
