"""The st.cache_* wrappers for what every session shares: TensorFlow, datasets, models and results.

Files are keyed by path and modification time, so a changed file is read again; TensorFlow is
imported only inside the wrappers that need it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import data, datasets, run, store, unsure

if TYPE_CHECKING:
    from mnist_mlp import evaluate

MAX_TRAININGS = 2  # trainings at once across all sessions; the 2 CPU cores are shared by everyone
VALIDATION_FRACTION = run.VALIDATION_FRACTION
STORE_SEEN_KEY = "store_seen"  # session_state: the store's listed_fingerprint this session's page shows
NO_PRELOAD_ENV = "MNIST_MLP_NO_PRELOAD"  # set (to anything but "" or "0"): load nothing at server start
PRELOAD_DATASET = data.DATASETS[0]  # the Train page's default dataset, split with the default seed
# The warm-up run: a few steps of a tiny model, enough for TensorFlow to set up what every first
# compiled call pays for (about 1.5 s here) before the first person's run has to.
WARM_UP_CONFIG = {"hidden_units": (8,), "epochs": 1, "batch_size": 32}
WARM_UP_IMAGES = 256
# The preload waits for the first page to be served and drawn (or this long, when nobody comes), so
# that the first person's page does not share the CPU with TensorFlow's import.
PRELOAD_GRACE_SECONDS = 4.0
AFTER_FIRST_PAGE_SECONDS = 2.0  # after its script run: for the browser (on the same cores) to draw it
_page_served = threading.Event()

_logger = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Starting TensorFlow…")
def tensorflow() -> None:
    """Import TensorFlow and Keras once, then exempt their objects from garbage collection.

    Streamlit calls `keras.backend.clear_session()` after every script run, which runs a full
    garbage collection: ~300 ms over TensorFlow's half a million objects, long enough to stall a
    training thread on every poll. Frozen, they are skipped and a collection takes a few ms.
    """
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    _keep_keras_between_runs()
    gc.collect()
    gc.freeze()


def _keep_keras_between_runs() -> None:
    """Stop Streamlit clearing the Keras session at the end of every script run.

    Streamlit 1.67 does that for apps that build a model on each run; ours are built once and
    cached. Each clear cost ~15 ms of collection, and made the next call of every loaded model
    ~25 ms slower (measured in the server: 25-30 ms of CPU for the first prediction of each run,
    1 ms for the next), which a canvas stroke paid twice over. Matplotlib figures are still
    closed, as Streamlit does.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):  # a later Streamlit may drop or rename it
        script_runner._clean_problem_modules = _close_figures


def _close_figures() -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


@st.cache_resource(show_spinner="Loading the data…")
def dataset(name: str) -> data.Dataset:
    """The full set when one is on this machine, else the bundled sample; read-only arrays."""
    return data.load(name, allow_download=False)


@st.cache_resource(show_spinner=False, max_entries=8)  # each one a copy of the training images
def training_split(name: str, seed: int, pen_strokes: int = 0, outliers: int = 0) -> datasets.Split:
    """`name`'s training images split for validation, the same for the same seed, with `pen_strokes`
    pen-stroke renders of each digit and `outliers` images of no class added (see `run.with_extras`)."""
    if pen_strokes or outliers:
        return _with_extras(name, seed, pen_strokes, outliers)
    return run.split(dataset(name), seed, VALIDATION_FRACTION).read_only()  # shared by every session


@st.cache_resource(
    show_spinner="Drawing pen strokes, scribbles and shapes to train on (once per server)…", max_entries=2
)
def _with_extras(name: str, seed: int, pen_strokes: int, outliers: int) -> datasets.Split:
    from mnist_mlp import model

    config = model.MLPConfig(seed=seed, pen_strokes=pen_strokes, outliers=outliers)
    return run.with_extras(training_split(name, seed), config, name).read_only()  # shared by every session


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def load_model(path: str, modified_ns: int) -> store.LoadedModel:
    tensorflow()
    return store.load(path)


@st.cache_resource(show_spinner="Learning what the model's training images look like…", max_entries=8)
def detector(path: str, modified_ns: int, dataset_name: str, source: str) -> unsure.Detector:
    """The model's Unsure detector: the one saved with it, else one fitted on its dataset (an upload).

    Holds no reference to the model, so an evicted model is freed.
    """
    loaded = load_model(path, modified_ns)
    return loaded.detector or run.fallback_detector(loaded.model, dataset(dataset_name))


@st.cache_data(show_spinner="Asking which test images the model is unsure of…", max_entries=16)
def unsure_flags(path: str, modified_ns: int, dataset_name: str, source: str) -> np.ndarray:
    """(n,) bool: the test images the model's verdict calls Unsure."""
    found = detector(path, modified_ns, dataset_name, source)
    keras_model = load_model(path, modified_ns).model
    return unsure.flags(found, unsure.scores(found, keras_model, dataset(dataset_name).x_test))


@st.cache_data(show_spinner="Evaluating on the test set…", max_entries=16)
def evaluation(
    path: str, modified_ns: int, dataset_name: str, source: str, drawings_folder: str = ""
) -> evaluate.Evaluation:
    """`source` is in the key so that a newly found full dataset is not read with a sample's results.

    With `drawings_folder`, the data is my drawings there and `source` is their signature.
    """
    from mnist_mlp import evaluate

    if drawings_folder:
        test = drawings_dataset(dataset_name, drawings_folder, source)
    else:
        test = dataset(dataset_name)
    return evaluate.evaluate(load_model(path, modified_ns).model, test.x_test, test.y_test)


@st.cache_data(show_spinner=False, max_entries=2)  # a few MB each; made again if evicted
def export_zip(path: str, modified_ns: int, name: str) -> bytes:
    from mnist_mlp import export

    return export.export_zip(load_model(path, modified_ns), name)


@st.cache_data(show_spinner=False)
def listing(folder: str, fingerprint: tuple, shipped_ns: int) -> list[store.StoredModel]:
    """The store's listing with the shipped default; the fingerprint and its time are only cache keys."""
    return store.with_shipped_default(store.list_models(folder))


@st.cache_resource
def training_slots() -> threading.Semaphore:
    return threading.Semaphore(MAX_TRAININGS)


@st.cache_resource
def watched_runs() -> weakref.WeakValueDictionary:
    """Watch id -> the run (ui.training.Training) it shows, for every session's watch link.

    Weak: a run lives as long as the session that trains it keeps it; a closed tab frees it, and
    its watchers are told it has gone.
    """
    return weakref.WeakValueDictionary()


mtime_ns = store.mtime_ns  # the cache key of a file: its time of change, 0 when missing


def data_changed() -> None:
    """Forget the loaded datasets (and their splits) after a fuller copy has arrived."""
    dataset.clear()
    training_split.clear()
    _with_extras.clear()


def store_changed() -> None:
    """Forget the cached listing after this session saved, renamed or deleted a model, and take the
    store as it is now as what this session has seen: its own change does not rerun its page
    (`picker.watch_store`), which would wipe the message saying what was done."""
    listing.clear()
    st.session_state[STORE_SEEN_KEY] = store.listed_fingerprint()


@st.cache_resource(show_spinner=False, max_entries=4)
def drawings_dataset(name: str, folder: str, signature: str) -> data.Dataset:
    """`signature` is in the key so that a save or delete is seen at once."""
    from mnist_mlp import my_drawings

    return my_drawings.as_dataset(name, folder)


@contextlib.asynccontextmanager
async def preloading(app=None):
    """The server's lifespan (st.App in app.py): start `preload` as the server starts, then serve."""
    preload()
    yield


def page_served() -> None:
    """Called after every script run (app.py): a preload still waiting for the first page may start."""
    _page_served.set()


def preload() -> threading.Thread | None:
    """Load what a first training needs in a background thread, so "Start training" does not wait.

    TensorFlow's import (~5 s here), the Train page's default data split and a warm-up run of a
    tiny model, once the first page has been served or PRELOAD_GRACE_SECONDS have passed: the
    import holds Python's lock for much of its time and would slow that page (measured in
    benchmarks.app_latency). Nothing when NO_PRELOAD_ENV is set.
    """
    if os.environ.get(NO_PRELOAD_ENV, "") not in ("", "0"):
        return None
    thread = threading.Thread(target=_preload, name="mnist-mlp-preload", daemon=True)
    thread.start()
    return thread


def _preload():
    """`preload`'s work: fills the shared caches a session would fill; returns the warm-up run."""
    if _page_served.wait(PRELOAD_GRACE_SECONDS):
        time.sleep(AFTER_FIRST_PAGE_SECONDS)
    try:
        from mnist_mlp import model, train  # scipy too, through augment: after the first page

        tensorflow()
        split = training_split(PRELOAD_DATASET, model.MLPConfig().seed)
        config = model.MLPConfig(**WARM_UP_CONFIG)
        small = datasets.Split(*(array[:WARM_UP_IMAGES] for array in split))
        return train.train(config, small)
    except Exception:  # a failed preload only means the first run loads it all itself
        _logger.exception("Preloading for the first training failed")
        return None
