"""A live lesson on the Train page: pace, pause, step and stop; the panel; the replay; a watch link."""

import re
import time

import numpy as np

from tests.app.conftest import APP, PAGES, TIMEOUT, open_page, texts
from tests.app.test_train_page import choose_tiny_model

FIGURE = re.compile(r'<figure data-testid="panel-image" data-right="(true|false)"')
ANSWER = re.compile(r'font-weight:600"><span aria-hidden="true">(✓|✗)</span> ([^<]+)</span> (\d+)%')


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def steps(training) -> int:
    progress = training.job.state().progress
    return progress.step if progress is not None else 0


def panel_markup(at) -> str:
    """The panel's HTML as the page sends it."""
    return next(element.proto.body for element in at.get("html") if "panel-image" in element.proto.body)


def panel_answers(at) -> list[tuple[bool, str, int]]:
    """(read right, answer, confidence %) under each panel image, in order."""
    markup = panel_markup(at)
    rights = [flag == "true" for flag in FIGURE.findall(markup)]
    answers = ANSWER.findall(markup)
    assert len(rights) == len(answers)
    pairs = zip(rights, answers, strict=True)
    return [(right, answer, int(percent)) for right, (_, answer, percent) in pairs]


def replay_loss_curve(at) -> list[tuple[float, str, float]]:
    """The replay's loss chart (the page's last): (epoch, split, loss) rows in epoch order."""
    from streamlit import dataframe_util

    chart = [c for c in at.get("vega_lite_chart") if '"title": "loss"' in c.proto.spec][-1]
    table = dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.data.data)
    return sorted(zip(table.epoch, table.split, table.value, strict=True))


def progress_text(at) -> str:
    return next(bar.proto.text for bar in at.get("progress"))


def start_paused_lesson(app, epochs: int = 200):
    open_page(app, "train")
    choose_tiny_model(app, epochs=epochs)
    app.select_slider(key="train_pace").set_value(5)
    app.checkbox(key="train_start_paused").check().run()
    app.button(key="train_start").click().run()
    training = app.session_state["training"]
    wait_for(lambda: training.job.recording.latest() is not None)  # the untrained model read the panel
    app.run()
    return training


def test_a_paused_lesson_advances_one_batch_a_step_follows_its_pace_and_stops_keeping_the_model(app):
    training = start_paused_lesson(app)
    assert progress_text(app).startswith("Paused before the first step")
    untrained = panel_answers(app)
    assert len(untrained) == 20
    time.sleep(0.5)
    app.run()
    assert steps(training) == 0  # paused: no step, however long

    for expected in (1, 2):
        app.button(key="train_step").click().run()
        wait_for(lambda expected=expected: steps(training) == expected)
        time.sleep(0.4)
        assert steps(training) == expected  # and no more follow
    app.run()
    assert "step 2 · paused" in progress_text(app)
    assert "Read right:" in " ".join(texts(app.markdown))
    stepped = panel_answers(app)
    recorded = training.job.recording.latest()
    assert recorded.step == 2
    assert [answer for _, answer, _ in stepped] == [str(int(c)) for c in recorded.predicted]
    assert [percent for _, _, percent in stepped] == [round(float(c) * 100) for c in recorded.confidence]
    first = training.job.recording.answers_at(0)
    assert not np.array_equal(first.confidence, recorded.confidence)  # two batches changed the answers

    app.button(key="train_resume").click().run()  # at 5 steps a second
    assert app.button(key="train_step").disabled  # Step is for a paused run
    started, at_start = time.monotonic(), steps(training)
    wait_for(lambda: steps(training) >= at_start + 10)
    moved = steps(training) - at_start
    assert moved <= 5 * (time.monotonic() - started) + 2, moved  # no faster than the pace
    app.run()
    assert "lesson pace: 5 steps a second" in progress_text(app)

    app.button(key="train_pause").click().run()
    time.sleep(0.3)
    held = steps(training)
    time.sleep(0.5)
    assert steps(training) == held

    app.button(key="train_stop").click().run()
    assert training.job.wait(5)
    app.run()
    assert training.job.result.stopped and training.job.result.steps == held
    assert any(message.startswith("Stopped at epoch") for message in texts(app.warning))
    assert app.slider(key=f"train_replay_{training.run_id}").value == held


def test_the_pace_can_change_while_a_run_goes(app):
    training = start_paused_lesson(app)
    app.select_slider(key="train_pace").set_value(1).run()
    app.button(key="train_resume").click().run()
    assert training.job.pace.steps_per_second == 1
    started, at_start = time.monotonic(), steps(training)
    time.sleep(1.5)
    assert steps(training) - at_start <= (time.monotonic() - started) * 1 + 2  # one a second
    app.select_slider(key="train_pace").set_value("full speed").run()
    assert training.job.pace.steps_per_second is None
    wait_for(lambda: steps(training) > at_start + 100, timeout=30)  # 1 a second would take 100 s
    app.button(key="train_stop").click().run()
    assert training.job.wait(5)


def test_a_run_stopped_before_its_first_step_offers_no_model(app):
    training = start_paused_lesson(app)
    app.button(key="train_stop").click().run()
    assert training.job.wait(5)
    app.run()
    assert "Stopped before training began." in texts(app.warning)
    assert not [button for button in app.button if button.key in ("train_save", "train_continue")]


def test_the_replay_shows_the_recorded_state_at_a_chosen_step(app):
    open_page(app, "train")
    choose_tiny_model(app, epochs=2)
    app.select_slider(key="train_batch_custom").set_value(16).run()  # 225 batches an epoch
    app.button(key="train_start").click().run()
    training = app.session_state["training"]
    assert training.job.wait(60)
    app.run()
    recording = training.job.recording
    slider = app.slider(key=f"train_replay_{training.run_id}")
    assert (slider.min, slider.max) == (0, 450)

    chosen = recording.steps()[len(recording.steps()) // 3]  # in the first epoch
    slider.set_value(chosen + 1).run()
    answers = recording.answers_at(chosen + 1)
    assert answers.step == chosen
    shown = panel_answers(app)
    assert [answer for _, answer, _ in shown] == [str(int(c)) for c in answers.predicted]
    assert [right for right, _, _ in shown] == answers.right(recording.panel.labels).tolist()
    assert [percent for _, _, percent in shown] == [round(float(c) * 100) for c in answers.confidence]
    assert f"**Read right: {int(answers.right(recording.panel.labels).sum())} of 20**" in texts(app.markdown)

    curve = replay_loss_curve(app)
    epoch_at_step = (chosen + 1) / 225  # the slider's step
    assert max(epoch for epoch, _, _ in curve) <= epoch_at_step + 1e-6  # the curves stop at the step
    assert all(split == "training" for _, split, _ in curve)  # before the first validation
    weights_step = recording.weights_at(chosen + 1).step
    assert f"**First-layer weights at step {weights_step:,}**" in [m.proto.body for m in app.markdown]

    slider.set_value(450).run()
    assert [epoch for epoch, split, _ in replay_loss_curve(app) if split == "validation"] == [1.0, 2.0]


def test_a_watch_link_shows_the_run_live_and_read_only_then_its_replay(app):
    from streamlit.testing.v1 import AppTest

    training = start_paused_lesson(app)
    app.button(key="train_step").click().run()
    wait_for(lambda: training.job.recording.latest().step == 1)
    app.run()
    watcher = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    watcher.query_params["watch"] = training.watch_id
    watcher.switch_page(PAGES["train"]).run()
    assert not watcher.exception and not watcher.error
    assert "step 1 · paused" in progress_text(watcher)
    assert panel_answers(watcher) == panel_answers(app)  # the same panel, the same answers
    for key in ("train_start", "train_pause", "train_resume", "train_step", "train_stop", "train_pace"):
        assert not [element for element in watcher.get("button") + watcher.get("select_slider")
                    if element.key == key], key  # fmt: skip

    app.button(key="train_step").click().run()
    wait_for(lambda: training.job.recording.latest().step == 2)
    watcher.run()
    assert "step 2 · paused" in progress_text(watcher)  # the trainer's step, seen by the watcher

    app.button(key="train_stop").click().run()
    assert training.job.wait(5)
    watcher.run()
    assert any(message.startswith("Stopped at epoch") for message in texts(watcher.warning))
    assert watcher.slider(key=f"watch_replay_{training.run_id}").value == 2

    app.button(key="train_continue").click().run()  # the next run, at the lesson's pace: paused
    following = app.session_state["training"]
    assert following is not training and following.watch_id == training.watch_id
    wait_for(lambda: following.job.recording.latest() is not None)
    app.run()
    watcher.run()  # what its poll does: the link shows the new run, live
    assert progress_text(watcher).startswith("Paused before the first step")
    assert panel_answers(watcher) == panel_answers(app)
    following.job.stop()
    assert following.job.wait(5)

    nobody = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    nobody.query_params["watch"] = "no-such-run"
    nobody.switch_page(PAGES["train"]).run()
    assert not nobody.exception
    assert any("is not on this server" in info for info in texts(nobody.info))


def test_full_speed_is_the_default_and_reads_the_panel_as_it_trains(app):
    open_page(app, "train")
    choose_tiny_model(app, epochs=1)
    assert app.select_slider(key="train_pace").value == "full speed"
    app.button(key="train_start").click().run()
    training = app.session_state["training"]
    assert training.job.pace.steps_per_second is None and not training.job.pace.paused
    assert training.job.wait(60)
    right = training.job.recording.right_counts()
    assert right[0][0] == 0 and right[-1][0] == training.job.result.steps
    panel = training.job.recording.panel
    predicted = training.job.result.model(panel.images / 255.0, training=False).numpy().argmax(axis=1)
    assert right[-1][1] == int((predicted == panel.labels).sum())  # the trained model's own answers
    assert right[-1][1] >= right[0][1] + 5  # it learned to read them
    assert np.array_equal(np.bincount(panel.labels, minlength=10), np.full(10, 2))
