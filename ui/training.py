"""This session's training runs: start, stop, test and save them, kept in st.session_state.

Each run is a background job; at most MAX_TRAININGS run at once across all sessions.
"""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from mnist_mlp import run
from ui import charts, classroom, collection, picker, resources, widgets

if TYPE_CHECKING:
    from mnist_mlp import evaluate, job, lesson, model

# How often the Train page redraws live progress. Each redraw costs the browser and the server CPU
# that the training, on the same cores, then lacks: every 2 s rather than every 1 s the browser
# uses ~0.15 of a core instead of ~0.21 (benchmarks.app_training_speed).
POLL_SECONDS = 2.0
WEIGHTS_POLL_SECONDS = 2.0  # the live weight mosaic changes slowly and costs more to draw
STOP_WAIT_SECONDS = 1.0  # a stopped run ends within ~0.1 s, plus one validation pass
TRAINING_KEY = "training"  # session_state: this session's Training
WATCH_ID_KEY = "watch_id"  # session_state: the id in this session's link to watch its runs
COMPARE_KEYS = ("compare_a", "compare_b")  # session_state: the Compare page's two Trainings


@dataclass
class Training:
    """What one person is training or just trained; kept in st.session_state."""

    job: job.TrainingJob
    plan: run.Plan  # what it trains on, its suggested name and image counts
    # the chart rows of the runs this one continues (see `charts.progress_rows`), batch rows and epochs
    earlier_rows: list[dict[str, float]] = field(default_factory=list)
    test: evaluate.Evaluation | None = None  # set when evaluated on the test set
    saved_as: str | None = None
    replaced: bool = False  # the save replaced an earlier model of that name
    save_refused: str = ""  # why the last save was refused; kept, as a page may rerun on its own
    watch_id: str = ""  # the id in the link that watches it (the same for every run of a session)
    run_id: str = field(default_factory=lambda: secrets.token_hex(6))  # this run's own, for watchers
    panel_urls: list[str] = field(default_factory=list)  # the panel's images as data: URLs, made once

    @property
    def saved_message(self) -> str:
        """What the page says once the run is saved ("" before)."""
        if not self.saved_as:
            return ""
        earlier = ", in place of your earlier model of that name" if self.replaced else ""
        return f"Saved as {self.saved_as!r}{earlier}: it is now the model every page uses."

    def curve_rows(self) -> list[dict[str, float]]:
        """The whole run's learning curves as chart rows: the runs it continues, then its own reports
        (per batch, and per epoch with validation), thinned to about charts.CHART_POINTS."""
        return charts.progress_rows(self.job.state().points, earlier=self.earlier_rows)

    @property
    def dataset(self) -> str:
        """The dataset's name."""
        return self.plan.dataset.name

    @property
    def samples(self) -> dict[str, int]:
        """Train / validation / test (and drawings) image counts."""
        return self.plan.samples

    @property
    def suggested_name(self) -> str:
        """A name to save under, unique to the second it started."""
        return self.plan.name


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
    pace: lesson.Pace | None = None,
) -> Training:
    """Start a background job for this session (queued when others hold every slot), kept under `key`.

    `mix_drawings` > 0 adds my drawings to the training images, each that many times (fine-tuning);
    DrawingsError (a ValueError) when there are none. With a `pace` the run is a live lesson: it
    goes at that pace, reads a panel of test images as it learns, and anyone with this session's
    watch link sees it.
    """
    from mnist_mlp import job, lesson

    dataset = resources.dataset(dataset_name)
    prepared = resources.training_split(dataset_name, config.seed, config.pen_strokes, config.outliers)
    mine = collection.my_drawings(dataset_name) if mix_drawings else None
    plan = run.plan(dataset, config, prepared, mine, mix_drawings)
    resources.tensorflow()
    earlier = previous.job.result if previous is not None else None
    panel = lesson.choose_panel(dataset.x_test, dataset.y_test, config.seed) if pace is not None else None
    training_job = job.TrainingJob(
        config, plan.training, previous=earlier, epochs=epochs, slots=resources.training_slots(),
        pace=pace, panel=panel,
    )  # fmt: skip
    rows = previous.curve_rows() if earlier is not None else []
    urls = [widgets.png_data_url(image) for image in panel.images] if panel is not None else []
    session = Training(training_job.start(), plan, rows, watch_id=watch_id(), panel_urls=urls)
    weakref.finalize(session, training_job.stop)  # a closed session's state is dropped: stop its run
    st.session_state[key] = session
    if panel is not None:
        resources.watched_runs()[session.watch_id] = session  # held weakly: this session owns it
    return session


def watch_id() -> str:
    """This session's watch id: 64 random bits, made once per session."""
    state = st.session_state
    if not state.get(WATCH_ID_KEY):
        state[WATCH_ID_KEY] = secrets.token_urlsafe(8)
    return state[WATCH_ID_KEY]


def stop_training(*keys: str) -> None:
    """A callback: stop this session's runs (the Train page's by default) and give them a second to end."""
    sessions = [current(key) for key in keys or (TRAINING_KEY,)]
    for session in filter(None, sessions):
        session.job.stop()
    for session in filter(None, sessions):
        session.job.wait(STOP_WAIT_SECONDS)


def evaluate_training(session: Training) -> evaluate.Evaluation:
    """This session's model on its dataset's test set; kept with the session."""
    session.test = run.evaluate_test(session.plan, session.job.result.model)
    return session.test


def save_training(session: Training, name: str) -> None:
    """Save this session's model with its card (tested first) and make it the picked model.

    A name taken by a model of this session's (or any, for a teacher) is replaced; one of someone
    else's, or a shipped model's, is refused (see `rights`).

    Raises:
        ValueError: a bad name, or one taken by a model this session may not replace. OSError: the
            store cannot be written.
    """
    result = session.job.result
    test = session.test or evaluate_training(session)
    with st.spinner("Setting where the model should say Unsure…"):
        _, replaced = run.save(
            session.plan,
            result,
            name,
            classroom.actor(),
            test=test,
            notes="Trained in the app.",
            overwrite=True,
        )
    session.saved_as, session.replaced = name, replaced
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
            session.save_refused = f"Not saved: {err}"
        else:
            session.save_refused = ""
            st.rerun()
    if session.save_refused:  # until the next try: a page reruns when another session saves a model
        st.error(session.save_refused)


def sidebar_status() -> None:
    """A line in the sidebar while this session trains, whichever page is open."""
    session = current()
    if session is not None and not session.job.done:
        st.sidebar.caption("A training of yours runs in the background; the Train page shows it.")
    if any(other is not None and not other.job.done for other in map(current, COMPARE_KEYS)):
        st.sidebar.caption("Your two compared runs train in the background; the Compare page shows them.")
