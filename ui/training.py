"""This session's training runs: start, stop, test and save them, kept in st.session_state.

Each run is a background job; at most MAX_TRAININGS run at once across all sessions.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from mnist_mlp import rights
from ui import classroom, collection, picker, resources

if TYPE_CHECKING:
    from mnist_mlp import evaluate, job, model

POLL_SECONDS = 1.0  # how often the Train page redraws live progress (each redraw costs the trainer)
WEIGHTS_POLL_SECONDS = 2.0  # the live weight mosaic changes slowly and costs more to draw
STOP_WAIT_SECONDS = 1.0  # a stopped run ends within ~0.1 s, plus one validation pass
TRAINING_KEY = "training"  # session_state: this session's Training
COMPARE_KEYS = ("compare_a", "compare_b")  # session_state: the Compare page's two Trainings


@dataclass
class Training:
    """What one person is training or just trained; kept in st.session_state."""

    job: job.TrainingJob
    dataset: str  # the dataset's name
    samples: dict[str, int]  # train / validation / test image counts
    history: list[dict[str, float]] = field(default_factory=list)  # epochs of earlier runs
    test: evaluate.Evaluation | None = None  # set when evaluated on the test set
    saved_as: str | None = None
    suggested_name: str = ""  # a name to save under, unique to the second it started


def current(key: str = TRAINING_KEY) -> Training | None:
    """This session's Training kept under `key` (the Train page's, or one of COMPARE_KEYS)."""
    return st.session_state.get(key)


def start_training(
    config: model.MLPConfig,
    dataset_name: str,
    previous: Training | None = None,
    epochs: int | None = None,
    key: str = TRAINING_KEY,
    mix_drawings: int = 0,
) -> Training:
    """Start a background job for this session (queued when others hold every slot), kept under `key`.

    `mix_drawings` > 0 adds my drawings to the training images, each that many times (fine-tuning);
    DrawingsError (a ValueError) when there are none.
    """
    from mnist_mlp import job

    split = resources.training_split(dataset_name, config.seed, config.pen_strokes, config.outliers)
    mixed = {}
    if mix_drawings:
        from mnist_mlp import drawings

        mine = collection.my_drawings(dataset_name)
        split = (*drawings.mix(split[0], split[1], mine.x_train, mine.y_train, mix_drawings), *split[2:])
        mixed = {"drawings": len(mine.y_train)}
    resources.tensorflow()
    earlier = previous.job.result if previous is not None else None
    training_job = job.TrainingJob(
        config, *split, previous=earlier, epochs=epochs, slots=resources.training_slots()
    )
    samples = {
        "train": len(split[0]),
        "validation": len(split[2]),
        "test": len(resources.dataset(dataset_name).y_test),
    }
    samples |= mixed
    history = list(earlier.history) if earlier is not None else []
    name = f"{dataset_name}-{config.architecture}-{time.strftime('%Y%m%d-%H%M%S')}"
    session = Training(training_job.start(), dataset_name, samples, history, suggested_name=name)
    weakref.finalize(session, training_job.stop)  # a closed session's state is dropped: stop its run
    st.session_state[key] = session
    return session


def stop_training(*keys: str) -> None:
    """A callback: stop this session's runs (the Train page's by default) and give them a second to end."""
    sessions = [current(key) for key in keys or (TRAINING_KEY,)]
    for session in filter(None, sessions):
        session.job.stop()
    for session in filter(None, sessions):
        session.job.wait(STOP_WAIT_SECONDS)


def evaluate_training(session: Training) -> evaluate.Evaluation:
    """This session's model on its dataset's test set; kept with the session."""
    from mnist_mlp import evaluate

    test = resources.dataset(session.dataset)
    session.test = evaluate.evaluate(session.job.result.model, test.x_test, test.y_test)
    return session.test


def save_training(session: Training, name: str) -> None:
    """Save this session's model with its card (tested first) and make it the picked model.

    A name taken by a model of this session's (or any, for a teacher) is replaced; one of someone
    else's, or a shipped model's, is refused (see `rights`).

    Raises:
        ValueError: a bad name, or one taken by a model this session may not replace. OSError: the
            store cannot be written.
    """
    from mnist_mlp import cards, data, unsure

    result = session.job.result
    test = session.test or evaluate_training(session)
    card = cards.make_card(
        name, result, resources.dataset(session.dataset), session.samples, test, "Trained in the app."
    )
    settings = result.config
    x_train, y_train, x_val, _ = resources.training_split(
        session.dataset, settings.seed, settings.pen_strokes, settings.outliers
    )
    with st.spinner("Setting where the model should say Unsure…"):
        detector = unsure.fit(result.model, x_train, y_train, x_val, kind=data.ITEMS[session.dataset])
    rights.save(classroom.actor(), result.model, card, overwrite=True, snapshots=result.snapshots,
                detector=detector)  # fmt: skip
    session.saved_as = name
    resources.store_changed()
    picker.select_model(name)


def save_form(
    session: Training, key: str, *, label: str = "Save", name_label: str = "Name", primary: bool = False
) -> None:
    """A name box and a Save button for a finished run; saving reruns the app, so the picker shows it.

    Args:
        key: prefix of the widgets' keys ("train" gives "train_name_..." and "train_save").
    """
    name = st.text_input(name_label, session.suggested_name, key=f"{key}_name_{session.suggested_name}")
    kind = "primary" if primary else "secondary"
    if st.button(label, key=f"{key}_save", icon=":material/save:", type=kind):
        try:
            save_training(session, name.strip())
        except (ValueError, OSError) as err:
            st.error(f"Not saved: {err}")
        else:
            st.rerun()


def sidebar_status() -> None:
    """A line in the sidebar while this session trains, whichever page is open."""
    session = current()
    if session is not None and not session.job.done:
        st.sidebar.caption("A training of yours runs in the background; the Train page shows it.")
    if any(run is not None and not run.job.done for run in map(current, COMPARE_KEYS)):
        st.sidebar.caption("Your two compared runs train in the background; the Compare page shows them.")
