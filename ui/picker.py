"""The sidebar's model picker and what pages ask of the picked model: its entry, results and names.

The store's listing is read once per change of the store folder or any model in it; an open page
looks every few seconds for changes made elsewhere (another session, another replica, the command line).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import data, store
from ui import collection, links, resources

if TYPE_CHECKING:
    from mnist_mlp import evaluate

MODEL_KEY = "model_name"  # session_state: the picker's choice (a model name)
NEXT_MODEL_KEY = "next_model_name"  # session_state: a choice to apply before the picker is drawn
# How often an open page looks for models saved, renamed or deleted elsewhere: a folder listing and two
# file times per model, about 4 ms of server CPU a look, and a rerun of the page only when they changed.
STORE_POLL_SECONDS = 3.0
STORE_POLL_ENV = "MNIST_MLP_STORE_POLL_SECONDS"  # another interval; 0 looks only when the page reruns

_logger = logging.getLogger(__name__)


def _poll_seconds() -> float | None:
    """STORE_POLL_SECONDS or the interval set in STORE_POLL_ENV; None for no looking between runs."""
    text = os.environ.get(STORE_POLL_ENV, "").strip()
    try:
        seconds = float(text) if text else STORE_POLL_SECONDS
    except ValueError:
        _logger.warning("%s=%r is no number of seconds; using %g", STORE_POLL_ENV, text, STORE_POLL_SECONDS)
        seconds = STORE_POLL_SECONDS
    return seconds if seconds > 0 else None


_poll_every = _poll_seconds()  # this server's interval, read once as it starts


def models() -> list[store.StoredModel]:
    """Every model in the store (and the shipped default), newest first, unreadable ones last."""
    folder, shipped = store.store_dir(), store.shipped_default()
    shipped_ns = resources.mtime_ns(shipped) if shipped is not None else 0
    return resources.listing(str(folder), store.fingerprint(folder), shipped_ns)


def _usable_names() -> list[str]:
    return [entry.name for entry in models() if entry.card is not None]


def _chosen(usable: list[str]) -> str | None:
    """The session's choice while it exists, else the default digit model, else the newest."""
    chosen = st.session_state.get(MODEL_KEY)
    if chosen in usable:
        return chosen
    return store.default_choice(usable)


def model_picker() -> str | None:
    """The sidebar's model choice, shared by every page (app.py draws it before the page)."""
    state = st.session_state
    if NEXT_MODEL_KEY in state:
        state[MODEL_KEY] = state.pop(NEXT_MODEL_KEY)
    state[resources.STORE_SEEN_KEY] = store.listed_fingerprint()  # before the listing: later saves count
    if _poll_every:
        with st.sidebar:
            watch_store()
    usable = _usable_names()
    if not usable:
        st.sidebar.caption("No saved models yet: train one.")
        return None
    links.url_bound("model", MODEL_KEY, usable, store.DEFAULT_MODEL)
    chosen = _chosen(usable)
    if state.get(MODEL_KEY) != chosen:
        state[MODEL_KEY] = chosen  # before the widget exists this run, so it needs no default
    return st.sidebar.selectbox("Model", usable, key=MODEL_KEY, help="Used by every page")


@st.fragment(run_every=_poll_every)
def watch_store() -> None:
    """Rerun the page once the store's models differ from what it was drawn from, so that a model saved
    through another replica (or session, or the CLI) appears in the picker without a click. Draws nothing."""
    if store.listed_fingerprint() != st.session_state.get(resources.STORE_SEEN_KEY):
        st.rerun()


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
    return load_entry(entry)


def load_entry(entry: store.StoredModel) -> store.LoadedModel | None:
    """A store entry's model, loaded once per file version; None, with the reason shown, if it cannot be."""
    try:
        return resources.load_model(str(entry.path), resources.mtime_ns(entry.path / store.MODEL_FILE))
    except (ValueError, OSError) as err:
        st.error(f"Cannot load the model {entry.name!r}: {err}")
        return None


def evaluation(entry: store.StoredModel, on_drawings: bool = False) -> evaluate.Evaluation | None:
    """The entry's results on its dataset's test set (or on my drawings), computed once per model file."""
    try:
        modified = resources.mtime_ns(entry.path / store.MODEL_FILE)
        name = dataset_name(entry.card)
        if on_drawings:
            folder = collection.drawings_folder()
            signature = collection.signature(name, folder)
            return resources.evaluation(str(entry.path), modified, name, signature, str(folder))
        return resources.evaluation(str(entry.path), modified, name, resources.dataset(name).source)
    except (ValueError, OSError) as err:
        st.error(f"Cannot evaluate the model {entry.name!r}: {err}")
        return None


def unsure_flags(entry: store.StoredModel) -> np.ndarray | None:
    """(n,) bool: the test images the entry's Unsure verdict calls unsure; None, with why, if it cannot."""
    try:
        name = dataset_name(entry.card)
        modified = resources.mtime_ns(entry.path / store.MODEL_FILE)
        return resources.unsure_flags(str(entry.path), modified, name, resources.dataset(name).source)
    except (ValueError, OSError) as err:
        st.error(f"Cannot tell where {entry.name!r} is unsure: {err}")
        return None


def export_zip(entry: store.StoredModel) -> bytes:
    """The entry as a SavedModel and a .tflite file taking uint8 images, zipped; once per model file.

    Raises:
        ValueError: the model cannot be exported. OSError: no room for the temporary files.
    """
    return resources.export_zip(
        str(entry.path), resources.mtime_ns(entry.path / store.MODEL_FILE), entry.name
    )


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


def no_model() -> None:
    st.info("No model yet: train one (it takes a minute), or upload a .keras file on the Models page.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")


def test_data(card: store.Card | None, on_drawings: bool = False) -> data.Dataset:
    """The images `evaluation(entry, on_drawings)` scored: the test set, or my drawings."""
    name = dataset_name(card)
    return collection.my_drawings(name) if on_drawings else resources.dataset(name)
