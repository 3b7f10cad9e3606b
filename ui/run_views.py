"""What the Train page shows of a run: its live progress, panel and forming weights, then the results and
the replay; and the same, read-only, to someone watching it through a link."""

from __future__ import annotations

import time

import streamlit as st

from mnist_mlp import job, model, train
from ui import charts, lesson_views, picker, resources, training, widgets

FIRST_PROGRESS_CHECK_SECONDS = 0.05  # while a run starts, how often the page looks for its first report


def own_run(session: training.Training) -> None:
    """This session's run: live with its controls while it goes, then its results."""
    if session.job.done:
        results(session)
    else:
        live(session)
        live_weights(session)


@st.fragment(run_every=training.POLL_SECONDS)
def live(session: training.Training) -> None:
    """Redrawn every poll while the job runs, without rerunning the rest of the page."""
    state = progress_bar(session)
    lesson_views.controls(session)
    lesson_views.panel(session)
    curves(session, state)


def progress_bar(session: training.Training, whose: str = "yours") -> job.JobState:
    """The progress bar, with the lesson's pace; reruns the page once the run ends.

    Args:
        whose: how a queued run is spoken of ("yours", or "this run" to a watcher).
    """
    state = session.job.state()
    bar = st.empty()
    pace = session.job.pace
    if state.status == job.RUNNING and state.progress is None and pace is not None and pace.paused:
        bar.progress(0.0, text="Paused before the first step: Step trains one batch, Resume goes on.")
        return state
    if state.status == job.RUNNING and state.progress is None:
        bar.progress(0.0, text="Building the model…")
        state = _first_progress(session.job)  # shown as soon as it comes, not at the next poll
    if not state.active:
        st.rerun()  # the whole page, to show the results and what to do next
    report = state.progress
    if state.status == job.QUEUED:
        others = f"{resources.MAX_TRAININGS} trainings are running for other people"
        bar.info(f"Queued: {others}; {whose} starts as soon as one ends.")
    elif report is not None:
        where = f"Epoch {report.epoch}/{report.epochs}, batch {report.batch}/{report.batches}"
        paced = lesson_views.pace_text(session)
        if paced is None:
            speed = train.recent_speed(state.points)
            left = report.eta_seconds * report.images_per_second / max(speed, 1e-9)
            augmented = " with augmentation" if session.job.config.augment else ""  # its cost is in it
            text = f"{where} · {speed:,.0f} images/s{augmented} · {left:,.0f} s left"
        else:
            text = f"{where} · step {report.step:,} · {paced}"
        bar.progress(min(report.fraction, 1.0), text=text)
    return state


def curves(session: training.Training, state: job.JobState) -> None:
    """The learning curves so far, after those of the runs it continues."""
    if state.progress is not None:
        charts.history_charts(charts.progress_rows(state.points, earlier=session.earlier_rows))


def _first_progress(training_job: job.TrainingJob) -> job.JobState:
    """The job's state once its first report came or it ended, or after one poll at most."""
    deadline = time.monotonic() + training.POLL_SECONDS
    state = training_job.state()
    while state.progress is None and state.active and time.monotonic() < deadline:
        time.sleep(FIRST_PROGRESS_CHECK_SECONDS)
        state = training_job.state()
    return state


@st.fragment(run_every=training.WEIGHTS_POLL_SECONDS)
def live_weights(session: training.Training) -> None:
    """The first-layer weights as they form, redrawn in a fragment of their own."""
    forming_weights(session)


def forming_weights(session: training.Training) -> None:
    weights = session.job.state().weights
    if weights is not None and not session.job.done:
        st.markdown("**First-layer weights, forming**")
        widgets.weight_grid(weights, scale=2)


def outcome(session: training.Training) -> bool:
    """How the run ended, and its curves (unless its replay shows them); False when it left no model
    (failed, or stopped before its first step)."""
    state, result = session.job.state(), session.job.result
    if state.status == job.FAILED:
        st.error(f"Training failed: {state.error}")
        return False
    if result is None or not result.history:
        st.warning("Stopped before training began.")
        return False
    if result.stopped:
        st.warning(f"Stopped at epoch {result.epochs_done:.2f}; the model keeps what it learned so far.")
    else:
        st.success(f"Trained to epoch {result.epochs_done:g} in {result.seconds:,.1f} s of training.")
    if not lesson_views.has_replay(session):  # the replay starts at the end, with the whole curves
        charts.history_charts(session.curve_rows())  # the live curves stay, after the runs it continues
    return True


def results(session: training.Training) -> None:
    """The finished (or stopped) run, what to do with the model, and its replay."""
    if not outcome(session):
        return
    result = session.job.result
    with st.expander("First-layer weights"):
        widgets.weight_grid(model.first_layer_weights(result.model)[:64], scale=2)
    save_column, test_column, more_column = st.columns(3)
    with save_column:
        training.save_form(session, "train", primary=True)
    with test_column:
        if st.button("Evaluate on the test set", key="train_evaluate"):
            training.evaluate_training(session)
        if session.test is not None:
            st.metric("Test accuracy", f"{session.test.accuracy:.2%}")
            st.caption(f"Loss {session.test.loss:.4f} on {len(session.test.labels):,} test images.")
    with more_column:
        more = st.number_input("More epochs", 1, 500, 1, key="train_more")
        mix = st.number_input("Mix in my drawings, times each", 0, 100, 0, key="train_mix_drawings",
                              help="Fine-tune on the drawings saved on the Draw page.")  # fmt: skip
        if st.button("Continue training", key="train_continue", icon=":material/play_arrow:"):
            try:
                training.start_training(result.config, session.dataset, previous=session, epochs=int(more),
                                        mix_drawings=int(mix), pace=lesson_views.new_pace())  # fmt: skip
            except ValueError as err:  # no drawings to mix in
                st.error(f"Not started: {err}")
            else:
                st.rerun()
    if session.saved_as:
        st.success(session.saved_message)
        entry = picker.current_entry()
        if entry is not None and entry.name == session.saved_as:
            widgets.model_card(entry.card)
    lesson_views.replay(session, "train")


@st.fragment(run_every=training.POLL_SECONDS)
def watch_live(watch_id: str, run_id: str) -> None:
    """A watcher's live view, read-only; the whole page reruns when the run ends or another begins.
    Its arguments are ids: a fragment keeps them, and a watcher must not keep the run alive."""
    session = lesson_views.watched(watch_id)
    if session is None or session.run_id != run_id:
        st.rerun()
    state = progress_bar(session, whose="this run")
    lesson_views.panel(session)
    curves(session, state)
    forming_weights(session)


@st.fragment
def watch_replay(watch_id: str, run_id: str) -> None:
    """A watcher's replay of a finished run, found again by its ids at each redraw."""
    session = lesson_views.watched(watch_id)
    if session is not None and session.run_id == run_id:
        lesson_views.replay_view(session, "watch")


@st.fragment(run_every=training.POLL_SECONDS)
def watch_for_next(watch_id: str, run_id: str) -> None:
    """Draws nothing; reruns the page when the link's session starts another run (or its first)."""
    session = lesson_views.watched(watch_id)
    if session is not None and session.run_id != run_id:
        st.rerun()


def watch_page(watch_id: str) -> None:
    """The Train page as a watch link shows it: someone's run, live, then how it ended and its replay,
    until they start the next."""
    session = lesson_views.watched(watch_id)
    if session is None:
        st.info(
            "The run this link shows is not on this server: its trainer has not started one yet, or has "
            "left. This page shows it as soon as one starts; open the Train page without the link to "
            "train your own."
        )
        watch_for_next(watch_id, "")
        return
    st.caption("Watching a run live, read-only: the person training it sets its pace.")
    if session.job.state().active:
        watch_live(watch_id, session.run_id)
        return
    if outcome(session):
        watch_replay(watch_id, session.run_id)
    watch_for_next(watch_id, session.run_id)
