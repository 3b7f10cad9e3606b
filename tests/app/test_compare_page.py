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


def known_evaluation(labels, predicted):
    """An evaluation whose answers are `predicted` (confidence 0.9)."""
    import numpy as np

    from mnist_mlp import evaluate

    probabilities = np.full((len(labels), 10), 0.1 / 9, np.float32)
    probabilities[np.arange(len(labels)), predicted] = 0.9
    return evaluate.Evaluation(labels=np.array(labels), probabilities=probabilities)


def test_the_change_in_confusion_in_images_and_in_shares_of_each_true_class(app, monkeypatch):
    from mnist_mlp import colours
    from tests.app.conftest import chart_table
    from ui import picker

    rest = list(range(3, 10))  # one each of 3..9, read right by both
    labels = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, *rest]  # four zeros, two ones, five twos
    results = {
        "tiny": known_evaluation(labels, [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, *rest]),  # A
        "other": known_evaluation(labels, [0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 1, *rest]),  # B
    }
    monkeypatch.setattr(
        picker, "evaluation", lambda entry, on_drawings=False: results.get(entry.name, results["other"])
    )

    def change() -> dict[tuple[int, int], object]:
        (chart,) = [
            c
            for c in app.get("vega_lite_chart")
            if json.loads(c.proto.spec).get("description", "").startswith("Change")
        ]
        return {(int(r.true_index), int(r.predicted_index)): r for r in chart_table(chart).itertuples()}

    open_page(app, "compare")
    app.radio(key="compare_mode").set_value("saved").run()
    assert not app.exception and not app.error, texts(app.error)
    assert app.selectbox(key="compare_b_model").value != "tiny"
    assert "Confusion matrix, B minus A" in texts(app.subheader)
    assert app.radio(key="compare_view").value == "counts" and "differences" not in app.query_params
    # By hand: B reads one more 0 right (A read it as 1), one 1 fewer (B reads it as 2), and one more 2
    # right: A read two 2s as 0, B reads one of them right and one as 1
    by_hand = {(0, 0): 1, (0, 1): -1, (1, 1): -1, (1, 2): 1, (2, 2): 1, (2, 0): -2, (2, 1): 1}
    cells = change()
    assert {cell: row.change for cell, row in cells.items() if row.change} == by_hand
    assert {cell: cells[cell].label for cell in by_hand} == {cell: f"{n:+}" for cell, n in by_hand.items()}
    assert cells[(2, 0)].description == "2 read as 0: 2 fewer in B"
    assert cells[(3, 3)].label == "0" and cells[(3, 4)].label == "" and cells[(3, 4)].fill == "transparent"
    red, blue = cells[(1, 2)].fill, cells[(2, 0)].fill  # B more often, less often
    assert int(red[1:3], 16) > int(red[5:7], 16) and int(blue[1:3], 16) < int(blue[5:7], 16)
    assert cells[(1, 2)].fill == cells[(2, 1)].fill, "one image more each"

    app.radio(key="compare_view").set_value("share").run()
    assert not app.exception and not app.error, texts(app.error)
    assert app.query_params["differences"] == "share"
    cells = change()
    class_sizes = {0: 4, 1: 2, 2: 5}
    for (t, p), n in by_hand.items():
        assert cells[(t, p)].share_change == pytest.approx(n / class_sizes[t], abs=1e-12)
    assert [cells[cell].label for cell in ((0, 0), (0, 1), (1, 2), (2, 0), (2, 1))] == [
        "+25.0%", "-25.0%", "+50.0%", "-40.0%", "+20.0%"
    ]  # fmt: skip
    assert cells[(2, 0)].description == "2 read as 0: 40.0 percentage points less often in B (-2 of 5)"
    one_of_two, one_of_five = (colours.luminance(cells[cell].fill) for cell in ((1, 2), (2, 1)))
    assert one_of_two < one_of_five, "as shares, one of two ones is a larger change than one of five twos"
    table = app.dataframe[0].value  # the accuracy differences are the diagonal's shares
    assert table["difference"].round(6).tolist()[:3] == [0.25, -0.5, 0.2]
