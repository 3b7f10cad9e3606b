"""The app's shared pieces: the model picker, image grids and charts, and every st.cache_* wrapper.

Pages import this module and `mnist_mlp`; TensorFlow is imported only by the wrappers that need it.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import data, store

if TYPE_CHECKING:
    from mnist_mlp import evaluate, job, model, train

MAX_TRAININGS = 2  # trainings at once across all sessions; the 2 CPU cores are shared by everyone
POLL_SECONDS = 1.0  # how often the Train page redraws live progress (each redraw costs the trainer)
WEIGHTS_POLL_SECONDS = 2.0  # the live weight mosaic changes slowly and costs more to draw
CHART_POINTS = 300  # batch reports drawn per chart at most
STOP_WAIT_SECONDS = 1.0  # a stopped run ends within ~0.1 s, plus one validation pass
VALIDATION_FRACTION = 0.1
DATASET_LABELS = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST clothes"}
MODEL_KEY = "model_name"  # session_state: the picker's choice (a model name)
NEXT_MODEL_KEY = "next_model_name"  # session_state: a choice to apply before the picker is drawn
TRAINING_KEY = "training"  # session_state: this session's Training
CANVAS_KEY = "canvas_generation"  # session_state: bumped to give the canvas a new key, clearing it
FULL_DATA_HELP = {
    "mnist": 'run `python -c "import keras; keras.datasets.mnist.load_data()"` once with internet '
    "access (it saves `~/.keras/datasets/mnist.npz`), or copy `mnist.npz` there yourself",
    "fashion_mnist": "install the Debian package `dataset-fashion-mnist`, or run "
    '`python -c "import keras; keras.datasets.fashion_mnist.load_data()"` once with internet access',
}


def _leave_legacy_pages_mode() -> bool:
    """Keep Streamlit from treating pages/ as a legacy (v1) multipage folder; True if it was.

    Until st.navigation has run once in the process, Streamlit 1.67 answers a request for a
    sub-page (say /draw, from a tab left open across a server restart) by running that page's
    file alone, without app.py, and goes on doing so for every session until someone opens /.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the legacy mode
        return False
    legacy = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False
    return legacy


def _rerun_after_import() -> None:
    """Queue a rerun of this session that starts at its next element, not here.

    st.rerun() would raise inside `import ui`, and CPython gives a module whose import failed,
    half run, to every thread that was waiting on the same import: sessions opening a fresh
    server at the same moment would get a `ui` without its functions (AttributeError).
    """
    from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None and context.script_requests is not None:
        rerun = RerunData(query_string=context.query_string, page_script_hash=context.page_script_hash)
        context.script_requests.request_rerun(rerun)


if _leave_legacy_pages_mode() and st.runtime.exists():
    _rerun_after_import()  # a page imported us without app.py: run again, through app.py this time


# ---- Heavy resources, loaded once per process and shared by all sessions ----------------------


@st.cache_resource(show_spinner="Starting TensorFlow…")
def tensorflow() -> None:
    """Import TensorFlow and Keras once, then exempt their objects from garbage collection.

    Streamlit calls `keras.backend.clear_session()` after every script run, which runs a full
    garbage collection: ~300 ms over TensorFlow's half a million objects, long enough to stall a
    training thread on every poll. Frozen, they are skipped and a collection takes a few ms.
    """
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner="Loading the data…")
def dataset(name: str) -> data.Dataset:
    """The full set when one is on this machine, else the bundled sample; read-only arrays."""
    return data.load(name, allow_download=False)


@st.cache_resource(show_spinner=False)
def training_split(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) of `name`'s training images, the same for the same seed."""
    source = dataset(name)
    arrays = data.split_validation(source.x_train, source.y_train, VALIDATION_FRACTION, seed=seed)
    for array in arrays:
        array.setflags(write=False)  # shared by every session
    return arrays


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _load_model(path: str, modified_ns: int) -> store.LoadedModel:
    tensorflow()
    return store.load(path)


@st.cache_data(show_spinner="Evaluating on the test set…", max_entries=16)
def _evaluation(path: str, modified_ns: int, dataset_name: str, source: str) -> evaluate.Evaluation:
    """`source` is in the key so that a newly found full dataset is not read with a sample's results."""
    from mnist_mlp import evaluate

    test = dataset(dataset_name)
    return evaluate.evaluate(_load_model(path, modified_ns).model, test.x_test, test.y_test)


@st.cache_data(show_spinner=False)
def _listing(folder: str, fingerprint: tuple, shipped_ns: int) -> list[store.StoredModel]:
    entries = store.list_models(folder)
    names = {entry.name for entry in entries}
    if shipped_ns and store.DEFAULT_MODEL not in names:  # the shipped default serves every store
        entries += [e for e in store.list_models(store.SHIPPED_STORE) if e.name == store.DEFAULT_MODEL]
    return sorted(entries, key=lambda entry: (entry.card is None, -entry.modified, entry.name))


@st.cache_resource
def training_slots() -> threading.Semaphore:
    return threading.Semaphore(MAX_TRAININGS)


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


# ---- The store and the model picker ------------------------------------------------------------


def models() -> list[store.StoredModel]:
    """Every model in the store (and the shipped default), newest first, unreadable ones last."""
    folder = store.store_dir()
    shipped = _modified_ns(store.SHIPPED_STORE / store.DEFAULT_MODEL)
    return _listing(str(folder), _fingerprint(folder), shipped)


def _fingerprint(folder: Path) -> tuple:
    """What the listing depends on: the folder and each entry's model file and card, by time of change.

    A model file replaced in place does not touch the folder's own time, so the entries are looked at
    too (a few stat calls per rerun).
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return ()
    files = (store.MODEL_FILE, store.CARD_FILE)
    return (
        _modified_ns(folder),
        *((e.name, *(_modified_ns(Path(e.path) / f) for f in files)) for e in entries if e.is_dir()),
    )


def data_changed() -> None:
    """Forget the loaded datasets (and their splits) after a fuller copy has arrived."""
    dataset.clear()
    training_split.clear()


def store_changed() -> None:
    """Forget the cached listing after this session saved, renamed or deleted a model."""
    _listing.clear()


def _usable_names() -> list[str]:
    return [entry.name for entry in models() if entry.card is not None]


def _chosen(usable: list[str]) -> str | None:
    """The session's choice while it exists, else the default digit model, else the newest."""
    chosen = st.session_state.get(MODEL_KEY)
    if chosen in usable:
        return chosen
    return store.DEFAULT_MODEL if store.DEFAULT_MODEL in usable else next(iter(usable), None)


def model_picker() -> str | None:
    """The sidebar's model choice, shared by every page (app.py draws it before the page)."""
    state = st.session_state
    if NEXT_MODEL_KEY in state:
        state[MODEL_KEY] = state.pop(NEXT_MODEL_KEY)
    usable = _usable_names()
    if not usable:
        st.sidebar.caption("No saved models yet: train one.")
        return None
    chosen = _chosen(usable)
    if state.get(MODEL_KEY) != chosen:
        state[MODEL_KEY] = chosen  # before the widget exists this run, so it needs no default
    return st.sidebar.selectbox("Model", usable, key=MODEL_KEY, help="Used by every page")


def select_model(name: str) -> None:
    """Make the picker choose `name` from the next run on."""
    st.session_state[NEXT_MODEL_KEY] = name


def current_entry() -> store.StoredModel | None:
    """The picked model's store entry; None when the store holds no usable model."""
    name = _chosen(_usable_names())
    return next((entry for entry in models() if entry.name == name), None)


def current_model() -> store.LoadedModel | None:
    """The picked model, loaded once per file version; a message instead when there is none."""
    entry = current_entry()
    if entry is None:
        no_model()
        return None
    try:
        return _load_model(str(entry.path), _modified_ns(entry.path / store.MODEL_FILE))
    except (ValueError, OSError) as err:
        st.error(f"Cannot load the model {entry.name!r}: {err}")
        return None


def evaluation(entry: store.StoredModel) -> evaluate.Evaluation | None:
    """The entry's results on its dataset's test set, computed once per model file."""
    try:
        modified = _modified_ns(entry.path / store.MODEL_FILE)
        name = dataset_name(entry.card)
        return _evaluation(str(entry.path), modified, name, dataset(name).source)
    except (ValueError, OSError) as err:
        st.error(f"Cannot evaluate the model {entry.name!r}: {err}")
        return None


def dataset_name(card: store.Card | None) -> str:
    """The dataset a model reads: its card's, when that is one we have, else MNIST."""
    return card.dataset if card is not None and card.dataset in data.DATASETS else "mnist"


def class_names(card: store.Card | None) -> list[str]:
    if card is not None and len(card.class_names) == 10:
        return list(card.class_names)
    return list(data.class_names(dataset_name(card)))


def predict(loaded: store.LoadedModel, image: np.ndarray) -> np.ndarray:
    """(10,) class probabilities for one (28, 28) image in [0, 1]."""
    from mnist_mlp import model

    return model.predict(loaded.model, image[None])[0]


def full_data_help(name: str) -> str:
    """How to get the full 70,000 images of a dataset instead of the bundled sample."""
    return f"For the full 70,000 images, {FULL_DATA_HELP[name]}; then restart the app."


def no_model() -> None:
    st.info("No model yet: train one (it takes a minute), or upload a .keras file on the Models page.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")


# ---- This session's training ----------------------------------------------------------------------


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


def training() -> Training | None:
    return st.session_state.get(TRAINING_KEY)


def start_training(
    config: model.MLPConfig, dataset_name: str, previous: Training | None = None, epochs: int | None = None
) -> Training:
    """Start a background job for this session (queued when others hold every slot)."""
    from mnist_mlp import job

    tensorflow()
    split = training_split(dataset_name, config.seed)
    earlier = previous.job.result if previous is not None else None
    training_job = job.TrainingJob(config, *split, previous=earlier, epochs=epochs, slots=training_slots())
    samples = {"train": len(split[0]), "validation": len(split[2]), "test": len(dataset(dataset_name).y_test)}
    history = list(earlier.history) if earlier is not None else []
    name = f"{dataset_name}-{config.architecture}-{time.strftime('%Y%m%d-%H%M%S')}"
    session = Training(training_job.start(), dataset_name, samples, history, suggested_name=name)
    weakref.finalize(session, training_job.stop)  # a closed session's state is dropped: stop its run
    st.session_state[TRAINING_KEY] = session
    return session


def stop_training() -> None:
    """A callback: stop this session's run and give it a second to end, so the next run shows it."""
    session = training()
    if session is not None:
        session.job.stop()
        session.job.wait(STOP_WAIT_SECONDS)


def evaluate_training(session: Training) -> evaluate.Evaluation:
    """This session's model on its dataset's test set; kept with the session."""
    from mnist_mlp import evaluate

    test = dataset(session.dataset)
    session.test = evaluate.evaluate(session.job.result.model, test.x_test, test.y_test)
    return session.test


def save_training(session: Training, name: str) -> None:
    """Save this session's model with its card (tested first) and make it the picked model.

    Raises:
        ValueError: a bad or taken name. OSError: the store cannot be written.
    """
    from mnist_mlp import job

    result = session.job.result
    test = session.test or evaluate_training(session)
    card = job.make_card(name, result, dataset(session.dataset), session.samples, test, "Trained in the app.")
    store.save(result.model, card, snapshots=result.snapshots)
    session.saved_as = name
    store_changed()
    select_model(name)


def sidebar_status() -> None:
    """A line in the sidebar while this session trains, whichever page is open."""
    session = training()
    if session is not None and not session.job.done:
        st.sidebar.caption("A training of yours runs in the background; the Train page shows it.")


# ---- Widgets ------------------------------------------------------------------------------------


def model_card(card: store.Card) -> None:
    """A model's card: what it is, how well it reads, and what it was trained on."""
    st.subheader(card.name)
    accuracy, parameters, where, epochs = st.columns(4)
    tested = f"{card.test_accuracy:.2%}" if card.test_accuracy is not None else "not tested"
    accuracy.metric("Test accuracy", tested)
    parameters.metric("Parameters", f"{card.config.parameter_count:,}")
    where.metric("Dataset", DATASET_LABELS.get(card.dataset, card.dataset))
    epochs.metric("Epochs", f"{card.epochs:g}")
    config = card.config
    trained_on = f"{card.samples['train']:,} images" if "train" in card.samples else "unknown data"
    st.caption(
        f"{config.architecture} ({config.activation}, dropout {config.dropout_rate:g}), "
        f"{config.optimizer} at learning rate {config.learning_rate:g}, batch {config.batch_size}"
        f"{', augmented' if config.augment else ''}. Trained for {card.training_seconds:,.0f} s on "
        f"{trained_on} from {card.data_source}. Created {card.created[:16].replace('T', ' ')}."
    )
    if card.notes:
        st.caption(card.notes)


def _pixels(image: np.ndarray, scale: int) -> np.ndarray:
    """A (28, 28) image in [0, 1] or 0..255 as uint8, each pixel a scale x scale block."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    return np.kron(image, np.ones((scale, scale), np.uint8)) if image.ndim == 2 else image


def digit(image: np.ndarray, caption: str | None = None, size: int = 140) -> None:
    """One image shown large, with sharp pixels."""
    st.image(_pixels(image, max(1, size // max(image.shape[:2]))), caption=caption, width=size)


def digit_grid(images: np.ndarray, captions: list[str], size: int = 84) -> None:
    """Images (n, 28, 28) in a wrapping grid, each with its caption."""
    if len(images):
        st.image([_pixels(image, size // 28) for image in images], caption=captions)


def probability_chart(probabilities: np.ndarray, names: list[str]) -> None:
    """The 10 class probabilities as bars, in class order."""
    import pandas as pd

    table = pd.DataFrame({"class": names, "probability": np.asarray(probabilities, float)})
    st.bar_chart(table, x="class", y="probability", sort=False, height=240)


def diverging(weights: np.ndarray, shared_scale: bool) -> np.ndarray:
    """(n, 28, 28) weights as (n, 28, 28, 3) uint8: blue negative, white zero, red positive."""
    weights = np.asarray(weights, np.float32)
    axes = None if shared_scale else (1, 2)
    scale = np.abs(weights).max(axis=axes, keepdims=True) + 1e-12
    t = np.clip(weights / scale, -1, 1)[..., None]  # (n, 28, 28, 1) in [-1, 1]
    red, blue = np.array([0.70, 0.09, 0.17]), np.array([0.13, 0.40, 0.67])  # RdBu's ends
    rgb = np.where(t > 0, 1 + t * (red - 1), 1 - t * (blue - 1))
    return (rgb * 255).round().astype(np.uint8)


def weight_grid(weights: np.ndarray, shared_scale: bool = False, columns: int = 8, scale: int = 3) -> None:
    """First-layer weights (units, 28, 28) as one mosaic of coloured 28x28 tiles."""
    tiles = diverging(weights, shared_scale)
    count = len(tiles)
    rows = -(-count // columns)
    mosaic = np.full((rows * 29 + 1, columns * 29 + 1, 3), 40, np.uint8)  # 1-px dark gaps
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        mosaic[1 + row * 29 : 29 + row * 29, 1 + column * 29 : 29 + column * 29] = tile
    st.image(np.kron(mosaic, np.ones((scale, scale, 1), np.uint8)))
    st.caption("Red: ink there raises the unit's input; blue: ink lowers it; white: no effect.")


def history_charts(rows: list[dict[str, float]]) -> None:
    """Loss and accuracy against epochs: training (running mean) and validation (each epoch).

    Plain Vega-Lite specs rather than Altair objects: ~3 ms a redraw instead of ~50 ms, which
    matters while a poll redraws them every second beside a training thread.
    """
    import pandas as pd

    long = [
        {"epoch": row["epoch"], "metric": metric, "split": split, "value": row[key]}
        for row in rows
        for metric in ("loss", "accuracy")
        for split, key in (("training", metric), ("validation", f"val_{metric}"))
        if row.get(key) is not None
    ]
    if not long:
        return
    table = pd.DataFrame(long)
    for column, metric in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        spec = {
            "height": 220,
            "encoding": {
                "x": {"field": "epoch", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}},
                "color": {"field": "split", "type": "nominal", "title": None},
            },
            "layer": [
                {"transform": [{"filter": "datum.split == 'training'"}], "mark": "line"},
                {
                    "transform": [{"filter": "datum.split == 'validation'"}],
                    "mark": {"type": "line", "point": True},
                },
            ],
        }
        column.vega_lite_chart(table[table.metric == metric], spec)


def progress_rows(points: tuple[train.Progress, ...], limit: int = CHART_POINTS) -> list[dict[str, float]]:
    """Training progress reports as chart rows, batch reports at fractional epochs, at most ~`limit`."""
    step = max(1, len(points) // limit)
    return [
        {"epoch": p.epoch - 1 + p.batch / max(p.batches, 1), "loss": p.loss, "accuracy": p.accuracy,
         "val_loss": p.val_loss, "val_accuracy": p.val_accuracy}
        for index, p in enumerate(points)
        if p.kind == "epoch" or index % step == 0 or index == len(points) - 1
    ]  # fmt: skip


def canvas_key() -> str:
    return f"canvas_{st.session_state.get(CANVAS_KEY, 0)}"


def clear_canvas() -> None:
    """A callback: the canvas gets a new key, which is what clears streamlit-drawable-canvas 0.13."""
    st.session_state[CANVAS_KEY] = st.session_state.get(CANVAS_KEY, 0) + 1
