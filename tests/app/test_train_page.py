"""The Train page: a tiny model trained for one epoch in the background, saved, tested; a run stopped."""

import re
import time

import numpy as np

from tests.app.conftest import open_page, texts


def choose_tiny_model(at, epochs: int) -> None:
    at.selectbox(key="train_preset").select("custom").run()
    at.number_input(key="train_units_0").set_value(16)
    at.number_input(key="train_epochs_custom").set_value(epochs)
    at.run()


def train_tiny_model(at) -> None:
    """On the Train page, train the tiny model for one epoch and show its result."""
    open_page(at, "train")
    choose_tiny_model(at, epochs=1)
    at.button(key="train_start").click().run()
    assert at.session_state["training"].job.wait(60)
    at.run()


def test_trains_one_epoch_then_saves_the_model_with_its_card(app, models_folder):
    from mnist_mlp import store

    open_page(app, "train")
    choose_tiny_model(app, epochs=1)
    assert "784-16-10: 12,730 parameters." in texts(app.caption)
    app.button(key="train_start").click().run()
    training = app.session_state["training"]
    assert training.job.wait(60) and training.job.status == "finished"
    app.run()
    assert any(message.startswith("Trained to epoch 1") for message in texts(app.success))
    app.button(key="train_evaluate").click().run()
    assert "Test accuracy" in [metric.label for metric in app.metric]

    name_box = next(box for box in app.text_input if box.key.startswith("train_name_"))
    name_box.set_value("my first model")
    app.button(key="train_save").click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert any("Saved as 'my first model'" in message for message in texts(app.success))
    assert app.sidebar.selectbox(key="model_name").value == "my first model"
    assert "my first model" in texts(app.header)  # its card
    card = store.read_card(models_folder / "my first model")
    assert card.config.hidden_units == (16,) and card.epochs == 1
    assert card.test_accuracy == training.test.accuracy
    assert card.samples == {"train": 3600, "validation": 400, "test": 1000}
    assert (models_folder / "my first model" / store.SNAPSHOT_FILE).is_file()
    assert store.load("my first model").detector is not None  # its Unsure limits, set on validation
    assert (card.saved_by, card.owner) == ("app", app.session_state["owner_id"])  # this session's
    first_folder = (models_folder / "my first model").stat().st_ino  # a replace puts a new folder there

    app.button(key="train_save").click().run()  # the same name again: this session's own model
    replaced = "Saved as 'my first model', in place of your earlier model of that name"
    assert any(message.startswith(replaced) for message in texts(app.success)), texts(app.success)
    assert (models_folder / "my first model").stat().st_ino != first_folder  # saved anew

    tiny_before = (models_folder / "tiny" / store.MODEL_FILE).read_bytes()
    name_box = next(box for box in app.text_input if box.key.startswith("train_name_"))
    name_box.set_value("tiny")  # a name someone else chose (saved before cards said by whom)
    app.button(key="train_save").click().run()
    refusal = "Not saved: A model named 'tiny' already exists, and only the session that saved it"
    assert any(error.startswith(refusal) for error in texts(app.error)), texts(app.error)
    assert (models_folder / "tiny" / store.MODEL_FILE).read_bytes() == tiny_before
    app.run()  # a rerun of its own (another session's save makes one): the refusal is still said
    assert any(error.startswith(refusal) for error in texts(app.error)), texts(app.error)


def test_pen_strokes_and_outliers_join_the_training_images(app, models_folder):
    from mnist_mlp import train
    from ui import resources

    open_page(app, "train")
    choose_tiny_model(app, epochs=1)
    app.number_input(key="train_pen_custom").set_value(1)
    app.number_input(key="train_outliers_custom").set_value(1000).run()
    app.button(key="train_start").click().run(timeout=600)  # the renders come first, once per server
    training = app.session_state["training"]
    assert training.job.wait(120) and training.job.status == "finished"
    assert training.job.config.pen_strokes == 1 and training.job.config.outliers == 1000
    x_train, y_train, x_val, _ = resources.training_split("mnist", 0, 1, 1000)  # what the job trained on
    assert training.samples == {"train": len(x_train), "validation": len(x_val), "test": 1000}
    pen_renders = np.count_nonzero(y_train < train.OUTLIER) - 3600
    assert 3550 <= pen_renders <= 3600  # each digit once more (a render to_mnist finds blank is left out)
    assert 990 <= np.count_nonzero(y_train == train.OUTLIER) <= 1000
    assert 750 <= len(x_val) <= 800  # and each validation digit once more


def start_long_run(app, augment: bool = False):
    """Start a 500-epoch run of the tiny model; its Training once it has reported, the page redrawn."""
    open_page(app, "train")
    choose_tiny_model(app, epochs=500)
    if augment:
        app.toggle(key="train_aug_custom").set_value(True).run()
    app.button(key="train_start").click().run()
    training = app.session_state["training"]
    deadline = time.monotonic() + 60
    while training.job.state().progress is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    app.run()
    return training


def test_stop_ends_a_run_and_keeps_the_model(app):
    training = start_long_run(app)
    assert app.button(key="train_stop").label == "Stop"
    app.button(key="train_stop").click().run()
    assert training.job.wait(2), "stopped within about a second"
    app.run()
    assert training.job.status == "stopped" and training.job.result.stopped
    assert any(message.startswith("Stopped at epoch") for message in texts(app.warning))

    epochs = training.job.result.epochs_done
    app.number_input(key="train_more").set_value(1)
    app.button(key="train_continue").click().run()
    more = app.session_state["training"]
    assert more.job.wait(60) and more.job.status == "finished"
    assert more.job.result.epochs_done == int(epochs) + 1  # ends the part-done epoch's count


def test_a_run_waits_while_other_sessions_hold_every_slot(app):
    from ui import resources

    slots = resources.training_slots()
    taken = [slots.acquire(timeout=5) for _ in range(resources.MAX_TRAININGS)]
    try:
        open_page(app, "train")
        choose_tiny_model(app, epochs=1)
        app.button(key="train_start").click().run()
        assert any(info.startswith("Queued:") for info in texts(app.info))
        keys = {button.key for button in app.button}  # no lesson controls for a run not yet going
        assert "train_stop" in keys and not keys & {"train_pause", "train_resume", "train_step"}
        app.button(key="train_stop").click().run()
        assert app.session_state["training"].job.wait(2)
        app.run()
        assert "Stopped before training began." in texts(app.warning)
    finally:
        for _ in filter(None, taken):
            slots.release()


def test_switching_pages_leaves_a_run_alone(app):
    open_page(app, "train")
    choose_tiny_model(app, epochs=2)
    app.button(key="train_start").click().run()
    training = app.session_state["training"]
    for name in ("draw", "weights", "home"):
        open_page(app, name)
        assert not app.exception
    assert training.job.wait(60) and training.job.status == "finished"
    open_page(app, "train")
    assert any(message.startswith("Trained to epoch 2") for message in texts(app.success))


def loss_curve(at) -> list[tuple[float, str, float]]:
    """The Train page's loss chart as the browser gets it: (epoch, split, loss) rows in epoch order."""
    from streamlit import dataframe_util

    chart = next(c for c in at.get("vega_lite_chart") if '"title": "loss"' in c.proto.spec)
    table = dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.data.data)
    return sorted(zip(table.epoch, table.split, table.value, strict=True))


def test_the_live_curves_stay_after_the_end_and_a_continued_run_extends_them(app):
    open_page(app, "train")
    choose_tiny_model(app, epochs=2)
    app.select_slider(key="train_batch_custom").set_value(16).run()  # 225 batches an epoch
    app.button(key="train_start").click().run()
    assert app.session_state["training"].job.wait(60)
    app.run()
    assert any(message.startswith("Trained to epoch 2") for message in texts(app.success))
    first = loss_curve(app)
    batches = [epoch for epoch, split, _ in first if split == "training" and epoch % 1]
    assert len(batches) >= 3 and min(batches) < 0.1, first  # per-batch points, from the first steps
    assert [epoch for epoch, split, _ in first if split == "validation"] == [1.0, 2.0]

    app.number_input(key="train_more").set_value(1)
    app.button(key="train_continue").click().run()
    assert app.session_state["training"].job.wait(60)
    app.run()
    assert any(message.startswith("Trained to epoch 3") for message in texts(app.success))
    both = loss_curve(app)
    assert set(first) <= set(both)  # the first run's curve is still there, point for point
    assert [epoch for epoch, split, _ in both if split == "validation"] == [1.0, 2.0, 3.0]
    assert any(2 < epoch < 3 for epoch, split, _ in both if split == "training"), both  # and goes on


def test_the_preload_fills_what_a_first_run_needs_and_can_be_switched_off(monkeypatch):
    from mnist_mlp import run
    from ui import resources

    monkeypatch.setenv(resources.NO_PRELOAD_ENV, "1")
    assert resources.preload() is None
    monkeypatch.delenv(resources.NO_PRELOAD_ENV)
    resources.page_served()  # a page was served: the preload starts at once
    thread = resources.preload()
    thread.join(120)
    assert not thread.is_alive()
    warm_up = resources._preload()  # what the thread did, again: the caches answer, a tiny run trains
    assert warm_up.steps == resources.WARM_UP_IMAGES // resources.WARM_UP_CONFIG["batch_size"]
    assert warm_up.history[-1]["epoch"] == 1

    def no_split(*args):
        raise AssertionError("split again: the preload's split was not kept")

    monkeypatch.setattr(run, "split", no_split)
    split = resources.training_split(resources.PRELOAD_DATASET, 0)  # the Train page's default
    assert len(split.x_train) == 3600 and not split.x_train.flags.writeable


def test_the_speed_shown_says_when_it_includes_augmentation(app):
    training = start_long_run(app, augment=True)
    bar = next(element.proto.text for element in app.get("progress"))
    assert re.search(r"· [\d,]+ images/s with augmentation · [\d,]+ s left", bar), bar
    app.button(key="train_stop").click().run()
    assert training.job.wait(5)
