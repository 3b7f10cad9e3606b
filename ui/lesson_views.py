"""A live lesson on the Train page: the pace, Pause and Step, the panel of test images the model reads
as it learns, the replay of a finished run, and the read-only view of a run watched through a link."""

from __future__ import annotations

import html
import time

import numpy as np
import streamlit as st

from mnist_mlp import lesson, pace
from ui import charts, links, resources, training, widgets

PACE_KEY = "train_pace"  # session_state: the lesson pace, steps a second or FULL_SPEED
START_PAUSED_KEY = "train_start_paused"
WATCH_PARAM = "watch"  # the query parameter of a link that watches someone's run
FULL_SPEED = "full speed"
PACE_OPTIONS = (*pace.PACES, FULL_SPEED)
STEP_WAIT_SECONDS = 1.0  # after Step, how long the page waits for the step to land before it redraws
# text for a screen reader only, kept out of sight without leaving the page's flow of reading
SCREEN_READER_ONLY = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)"
PANEL_PIXELS = 56  # a panel image's side on screen: 2x, readable from the back of a room
RIGHT_COLOUR, WRONG_COLOUR = "#1a7f37", "#cf222e"  # GitHub's accessible green and red


def pace_label(steps_per_second: float | str | None) -> str:
    """ "5 steps a second", or "full speed" for FULL_SPEED or None."""
    if steps_per_second in (None, FULL_SPEED):
        return FULL_SPEED
    return f"{steps_per_second:g} step{'' if steps_per_second == 1 else 's'} a second"


def chosen_pace() -> float | None:
    """The lesson pace this session chose: steps a second, or None for full speed."""
    chosen = st.session_state.get(PACE_KEY, FULL_SPEED)
    return None if chosen == FULL_SPEED else chosen


def pace_setting() -> None:
    """The lesson pace (in the URL) and whether to start paused; a change of pace reaches a running run."""
    links.url_bound("pace", PACE_KEY, PACE_OPTIONS, FULL_SPEED)
    pace_column, paused_column = st.columns([3, 1], vertical_alignment="bottom")
    with pace_column:
        st.select_slider(
            "Lesson pace", PACE_OPTIONS, value=FULL_SPEED, format_func=pace_label, key=PACE_KEY,
            on_change=_follow_pace,
            help="Slow training down to talk over it: optimizer steps (batches) a second. Full speed is as "
            "fast as this machine trains.",
        )  # fmt: skip
    with paused_column:
        st.checkbox("Start paused", key=START_PAUSED_KEY, help="Show the untrained model first.")


def _follow_pace() -> None:
    session = training.current()
    if session is not None and session.job.pace is not None:
        session.job.pace.set_steps_per_second(chosen_pace())


def controls(session: training.Training) -> None:
    """The trainer's buttons while the run goes: Pause or Resume, Step (while paused), Stop, and the link
    to watch; a queued run (or one without a pace) has Stop and the link only."""
    run_pace = session.job.pace
    queued = session.job.status == "queued"
    pause_column, step_column, stop_column, link_column = st.columns(4)
    if run_pace is not None and not queued:
        with pause_column:
            if run_pace.paused:
                resume = ":material/play_arrow:"
                st.button("Resume", on_click=run_pace.resume, key="train_resume", icon=resume)
            else:
                st.button("Pause", on_click=run_pace.pause, key="train_pause", icon=":material/pause:")
        with step_column:
            st.button(
                "Step", on_click=_step, args=(session,), key="train_step", icon=":material/skip_next:",
                disabled=not run_pace.paused, help="While paused: train on one batch, then pause again.",
            )  # fmt: skip
    with stop_column:
        stopping = session.job.stop_requested
        st.button(
            "Stopping…" if stopping else "Stop", on_click=training.stop_training, disabled=stopping,
            key="train_stop", icon=":material/stop:",
        )  # fmt: skip
    with link_column:
        watch_link(session)


def _step(session: training.Training) -> None:
    """A callback: one step, and a moment for it to land so the redraw shows it."""
    before = _steps_done(session)
    session.job.pace.step()
    deadline = time.monotonic() + STEP_WAIT_SECONDS
    while _steps_done(session) == before and session.job.state().active and time.monotonic() < deadline:
        time.sleep(0.02)


def _steps_done(session: training.Training) -> int:
    latest = session.job.recording.latest() if session.job.recording is not None else None
    return latest.step if latest is not None else -1


def pace_text(session: training.Training) -> str | None:
    """What the progress bar says of a lesson's pace ("paused", "5 steps a second"), None at full speed."""
    run_pace = session.job.pace
    if run_pace is None:
        return None
    if run_pace.paused:
        return "paused: Step trains one batch"
    rate = run_pace.steps_per_second
    return None if rate is None else f"lesson pace: {pace_label(rate)}"


def watch_link(session: training.Training) -> None:
    """A popover with the link that shows this run, live and read-only, to anyone who opens it."""
    with st.popover("Link to watch", icon=":material/cast_for_education:"):
        st.caption("Anyone who opens this link sees your runs live, read-only; you keep the controls.")
        st.code(f"{_page_url()}?{WATCH_PARAM}={session.watch_id}", language=None)


def _page_url() -> str:
    url = st.context.url or ""
    return url.split("?", 1)[0]


def panel(session: training.Training, step: int | None = None) -> None:
    """The panel of test images with the model's answer under each, as of `step` (default: now), and
    beside it how many it reads right, step by step."""
    recording = session.job.recording
    if recording is None:
        return
    answers = recording.latest() if step is None else recording.answers_at(step)
    if answers is None:
        return
    names = session.plan.dataset.class_names
    images_column, count_column = st.columns([3, 2])
    with images_column:
        total = len(recording.panel.labels)
        st.markdown(f"**{total} test images, as the model reads them at step {answers.step:,}**")
        st.html(panel_html(session.panel_urls, recording.panel.labels, answers, names))
    with count_column:
        right = int(answers.right(recording.panel.labels).sum())
        st.markdown(f"**Read right: {right} of {total}**")
        right_count_chart(recording.right_counts(up_to=answers.step), total)


def panel_html(image_urls: list[str], labels: np.ndarray, answers: lesson.Answers, names: list[str]) -> str:
    """The panel as one block of figures: each image, the answer and its confidence, a wrong one marked
    in red with a cross and the true class (said in words too, for a screen reader)."""
    figures = []
    for url, label, predicted, confidence in zip(
        image_urls, labels, answers.predicted, answers.confidence, strict=True
    ):
        right = int(predicted) == int(label)
        colour = RIGHT_COLOUR if right else WRONG_COLOUR
        answer = html.escape(names[int(predicted)])
        verdict = "✓" if right else "✗"
        truth = "" if right else f'<br><span style="opacity:.8">is {html.escape(names[int(label)])}</span>'
        figures.append(
            f'<div role="listitem"><figure data-testid="panel-image" data-right="{str(right).lower()}" '
            f'style="margin:0;width:{PANEL_PIXELS + 28}px;text-align:center;font-size:.8rem;line-height:1.2">'
            f'<img src="{url}" width="{PANEL_PIXELS}" height="{PANEL_PIXELS}" alt="test image of '
            f'{html.escape(widgets.article(names[int(label)]))}" style="image-rendering:pixelated;'
            f'border:3px solid {colour};border-radius:3px">'
            f'<figcaption><span style="color:{colour};font-weight:600"><span aria-hidden="true">{verdict}'
            f'</span> {answer}</span> {float(confidence):.0%}<span style="{SCREEN_READER_ONLY}">'
            f"{', right' if right else ', wrong'}</span>{truth}</figcaption></figure></div>"
        )
    return (
        '<div role="list" aria-label="Test images and the model\'s answers" '
        f'style="display:flex;flex-wrap:wrap;gap:.4rem">{"".join(figures)}</div>'
    )


def right_count_chart(counts: list[tuple[int, int]], total: int) -> None:
    """How many panel images were read right after each step, as a small line."""
    if not counts:
        return
    import pandas as pd

    table = pd.DataFrame(counts, columns=["step", "right"])
    spec = {
        "height": 160,
        "description": f"Panel images read right, of {total}, by training step",
        "mark": {"type": "line", "interpolate": "step-after"},
        "encoding": {
            "x": {"field": "step", "type": "quantitative", "title": "step"},
            "y": {"field": "right", "type": "quantitative", "title": f"read right, of {total}",
                  "scale": {"domain": [0, total]}},
        },
    }  # fmt: skip
    st.vega_lite_chart(table, spec)


def has_replay(session: training.Training) -> bool:
    """Whether the run recorded enough to scrub through (a lesson's run with two reports or more)."""
    recording = session.job.recording
    return recording is not None and len(recording.steps()) > 1


@st.fragment
def replay(session: training.Training, key: str) -> None:
    """`replay_view` in a fragment of its own, so scrubbing redraws only it; for the session that owns
    the run (a fragment keeps its arguments: a watcher's must hold ids only, not the run)."""
    replay_view(session, key)


def replay_view(session: training.Training, key: str) -> None:
    """After a run: one slider over its steps; the curves up to the step, the panel's answers at it and
    the weights recorded nearest to it."""
    if not has_replay(session):
        return
    recording = session.job.recording
    steps = recording.steps()
    st.subheader("Replay")
    step = st.slider(
        "Step of the run", steps[0], steps[-1], steps[-1], key=f"{key}_replay_{session.run_id}",
        help="Scrub through the run: the curves up to this step, the weights nearest to it, the panel's "
        "answers at it.",
    )  # fmt: skip
    points = lesson.rows_up_to(session.job.state().points, step)
    charts.history_charts(charts.progress_rows(tuple(points), earlier=session.earlier_rows))
    panel(session, step)
    kept = recording.weights_at(step)
    if kept is not None:
        st.markdown(f"**First-layer weights at step {kept.step:,}**")
        widgets.weight_grid(kept.weights.astype(np.float32), scale=2)


def watch_id_in_link() -> str | None:
    """The id of the run this page's link asks to watch, or None when it asks for none."""
    return st.query_params.get(WATCH_PARAM) or None


def watched(watch_id: str) -> training.Training | None:
    """The run a watch link's id points at, or None when it is not (or no longer) on this server."""
    return resources.watched_runs().get(watch_id)


def new_pace() -> pace.Pace:
    """A Pace as this session's lesson settings ask: its pace, and paused when it should start so."""
    return pace.Pace(chosen_pace(), paused=bool(st.session_state.get(START_PAUSED_KEY)))
