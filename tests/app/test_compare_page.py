"""The Compare page (two real tiny runs, two saved models) and page settings carried in links."""

import json

import pytest

from tests.app.conftest import APP, TIMEOUT, open_page, texts

COMPARE_KEYS = ("compare_a", "compare_b")


@pytest.fixture
def compare_app(app):
    """The app; any compared run still going at the end is stopped."""
    yield app
    for key in COMPARE_KEYS:
        run = app.session_state.get(key)
        if run is not None:
            run.job.stop()
            run.job.wait(10)


def test_softmax_next_to_an_mlp_trains_both_and_compares_them(compare_app, models_folder):
    from mnist_mlp import store

    app = compare_app
    open_page(app, "compare")
    assert app.selectbox(key="compare_a_preset").value == "softmax"  # the defaults: linear vs MLP
    assert app.selectbox(key="compare_b_preset").value == "784-512-10"
    app.number_input(key="compare_a_epochs").set_value(1)
    app.number_input(key="compare_b_epochs").set_value(1)
    app.selectbox(key="compare_b_preset").select("784-20-10").run()  # a smaller MLP keeps the test quick
    app.button(key="compare_start").click().run()
    runs = [app.session_state[key] for key in COMPARE_KEYS]
    assert all(run.job.wait(60) for run in runs)
    assert [run.job.status for run in runs] == ["finished", "finished"]
    app.run()
    assert not app.exception and not app.error, texts(app.error)

    metrics = {metric.label: metric.value for metric in app.metric}
    first, second = (run.test.accuracy for run in runs)
    assert metrics["Test accuracy, A: 784-10 on MNIST digits"] == f"{first:.2%}"
    assert metrics["Test accuracy, B: 784-20-10 on MNIST digits"] == f"{second:.2%}"
    assert first > 0.5 and second > 0.5  # one epoch on 3,600 real digits; chance is 0.10
    table = app.dataframe[0].value  # per class, side by side
    assert list(table["class"]) == [str(digit) for digit in range(10)]
    assert (
        table["difference"].round(6).tolist()
        == (table["B: 784-20-10 on MNIST digits"] - table["A: 784-10 on MNIST digits"]).round(6).tolist()
    )
    assert "Class templates of A" in texts(app.header)  # the linear model's 10 weight images
    assert "Class templates of B" not in texts(app.header)
    charts = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    overlays = [chart for chart in charts if "strokeDash" in chart.get("encoding", {})]
    assert [chart["encoding"]["y"]["title"] for chart in overlays] == ["loss", "accuracy"]
    assert all(chart["encoding"]["color"]["field"] == "run" for chart in overlays)  # both runs overlaid

    name_box = next(box for box in app.text_input if box.key.startswith("compare_a_name_"))
    name_box.set_value("linear")
    app.button(key="compare_a_save").click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert any("Saved as 'linear'" in message for message in texts(app.success))
    card = store.read_card(models_folder / "linear")
    assert card.config.hidden_units == () and card.test_accuracy == first
    assert app.sidebar.selectbox(key="model_name").value == "linear"


def test_digits_against_clothes_from_a_link_shows_each_on_its_own(compare_app):
    app = compare_app
    app.query_params.update(
        {"a_epochs": "1", "b_dataset": "fashion_mnist", "b_preset": "softmax", "b_epochs": "1"}
    )
    open_page(app, "compare")
    app.button(key="compare_start").click().run()
    runs = [app.session_state[key] for key in COMPARE_KEYS]
    assert all(run.job.wait(60) for run in runs) and runs[1].dataset == "fashion_mnist"
    app.run()
    assert not app.exception and not app.error, texts(app.error)
    assert any(caption.startswith("Two different test sets") for caption in texts(app.caption))
    assert not app.dataframe  # no class is in both: no side-by-side table
    assert {"Class templates of A", "Class templates of B"} <= set(texts(app.header))
    assert any("T-shirt/top" in caption for caption in texts(app.caption))  # B's templates are clothes


def test_two_saved_models_compare_without_training(app):
    open_page(app, "compare")
    app.radio(key="compare_mode").set_value("saved").run()
    assert app.selectbox(key="compare_a_model").value == "tiny"
    app.selectbox(key="compare_b_model").select("tiny").run()  # a model against itself: a known answer
    assert not app.exception and not app.error, texts(app.error)
    table = app.dataframe[0].value
    assert (table["difference"] == 0).all()
    assert any("only A is right on 0, only B on 0" in caption for caption in texts(app.caption))
    assert "Class templates of A" not in texts(app.header)  # the tiny model has a hidden layer
    assert app.query_params["mode"] == "saved" and app.query_params["b_model"] == "tiny"


def test_a_link_opens_the_compare_page_set_up_as_shared(app):
    app.query_params.update(
        {"a_preset": "784-20-10", "b_dataset": "fashion_mnist", "b_epochs": "3", "b_augment": "true"}
    )
    open_page(app, "compare")
    assert not app.exception
    assert app.selectbox(key="compare_a_preset").value == "784-20-10"
    assert app.selectbox(key="compare_b_dataset").value == "fashion_mnist"
    assert app.number_input(key="compare_b_epochs").value == 3
    assert app.toggle(key="compare_b_augment").value is True
    app.number_input(key="compare_a_epochs").set_value(7).run()  # a change goes into the link
    assert app.query_params["a_epochs"] == "7" and app.query_params["b_epochs"] == "3"
    app.selectbox(key="compare_a_preset").select("softmax").run()  # back to the default: left out
    assert "a_preset" not in app.query_params


def test_settings_come_back_after_visiting_another_page(app):
    app.query_params.update({"b_preset": "784-20-10"})
    open_page(app, "compare")
    app.number_input(key="compare_a_epochs").set_value(7).run()
    open_page(app, "home")
    open_page(app, "compare")  # Streamlit forgets the values of widgets that were not drawn
    assert app.selectbox(key="compare_b_preset").value == "784-20-10"
    assert app.number_input(key="compare_a_epochs").value == 7
    app.radio(key="compare_mode").set_value("saved").run()
    assert app.query_params["a_model"] == app.selectbox(key="compare_a_model").value  # even the default


def test_bad_values_in_a_link_fall_back_to_the_defaults(app):
    app.query_params.update(
        {"mode": "everything", "a_preset": "784-9999-10", "a_epochs": "-4", "b_epochs": "lots",
         "b_augment": "maybe", "b_dataset": "../etc"}
    )  # fmt: skip
    open_page(app, "compare")
    assert not app.exception and not app.error
    assert app.radio(key="compare_mode").value == "train"
    assert app.selectbox(key="compare_a_preset").value == "softmax"
    assert app.number_input(key="compare_a_epochs").value == 5
    assert app.number_input(key="compare_b_epochs").value == 5
    assert app.toggle(key="compare_b_augment").value is False
    assert app.selectbox(key="compare_b_dataset").value == "mnist"
    assert not {"mode", "a_preset", "a_epochs", "b_epochs", "b_augment", "b_dataset"} & set(app.query_params)


def test_train_and_misclassifications_pages_take_their_settings_from_the_link(app):
    app.query_params.update(
        {"dataset": "fashion_mnist", "preset": "softmax", "epochs": "12", "augment": "true"}
    )
    open_page(app, "train")
    assert not app.exception
    assert app.selectbox(key="train_dataset").value == "fashion_mnist"
    assert app.selectbox(key="train_preset").value == "softmax"
    assert app.number_input(key="train_epochs_softmax").value == 12
    assert app.toggle(key="train_aug_softmax").value is True

    app.query_params.update({"true": "3", "predicted": "bogus"})
    open_page(app, "misclassifications")
    assert not app.exception and not app.error
    assert app.selectbox(key="mistakes_true").value == 3
    assert app.selectbox(key="mistakes_predicted").value == -1  # a bad value: any class
    app.selectbox(key="mistakes_predicted").select(5).run()
    assert app.query_params["true"] == "3" and app.query_params["predicted"] == "5"


def test_the_model_picker_takes_the_model_from_the_link(models_folder):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["model"] = "tiny"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="model_name").value == "tiny"
    assert at.query_params["model"] == "tiny"

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["model"] = "no such model"
    at.run()
    assert not at.exception and at.sidebar.selectbox(key="model_name").value == "digits-mlp"
    assert "model" not in at.query_params


def test_stop_both_ends_the_runs_and_compares_what_they_learned(compare_app):
    import time

    app = compare_app
    app.query_params.update(
        {"a_epochs": "100", "b_preset": "softmax", "b_epochs": "100", "b_augment": "true"}
    )
    open_page(app, "compare")
    app.button(key="compare_start").click().run()
    runs = [app.session_state[key] for key in COMPARE_KEYS]
    deadline = time.monotonic() + 60
    while any(run.job.state().progress is None for run in runs):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    app.run()
    app.button(key="compare_stop").click().run()
    assert all(run.job.wait(2) for run in runs), "both stopped within about a second"
    app.run()
    assert not app.exception and not app.error, texts(app.error)
    assert [run.job.status for run in runs] == ["stopped", "stopped"]
    labels = [metric.label for metric in app.metric]
    assert labels == [
        "Test accuracy, A: 784-10 on MNIST digits",
        "Test accuracy, B: 784-10 on MNIST digits, augmented",
    ]
