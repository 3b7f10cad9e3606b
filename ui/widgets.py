"""Small shared widgets: a model's card, digits and digit grids, weight mosaics, the canvas's key, guard."""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_mlp import colours, store

DATASET_LABELS = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST clothes"}
CANVAS_KEY = "canvas_generation"  # session_state: bumped to give the canvas a new key, clearing it
# streamlit-drawable-canvas 0.13 keeps its toolbar (Update, Undo, Redo, Edit, Reset) unseen over the
# canvas's top-right corner until a pointer hovers the canvas, and the unseen toolbar still takes
# touches: a finger never hovers, so a stroke started there is lost and a tap may press Reset. This
# script puts one CSS rule into every canvas's shadow root, now and whenever a canvas mounts (Clear
# mounts a new one): while the toolbar is hidden, touches and clicks pass through it to the canvas.
# No "<" in the script: st.html's DOMPurify drops a script with "<" before a letter, "/" or "!".
CANVAS_TOOLBAR_GUARD = """<script>
(() => {
  // This element only runs a script: hidden, it leaves no gap in the column.
  document.currentScript.closest("[data-testid='stElementContainer']").style.display = "none";
  if (window.canvasToolbarGuard) return;  // a rerun or another visit: the observer is already there
  window.canvasToolbarGuard = true;
  const rule = ".dc-root:not(:hover) > .dc-toolbar:not(:focus-within):not([data-pinned='true'])"
    + " { pointer-events: none; }";
  let retrying = false;  // at most one look a frame while a host has no shadow root yet
  const retry = () => { retrying = false; guard(); };
  const guard = () => {
    for (const host of document.querySelectorAll("[data-testid='stBidiComponentIsolated']")) {
      const root = host.shadowRoot;  // Streamlit attaches it just after it mounts the host
      if (root === null && !retrying) {
        retrying = true;
        requestAnimationFrame(retry);
      } else if (root !== null && !root.querySelector("style[data-canvas-toolbar-guard]")) {
        const style = document.createElement("style");
        style.dataset.canvasToolbarGuard = "";
        style.textContent = rule;
        root.append(style);
      }
    }
  };
  new MutationObserver(guard).observe(document.body, {childList: true, subtree: true});
  guard();
})();
</script>"""


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


def weight_grid(weights: np.ndarray, shared_scale: bool = False, columns: int = 8, scale: int = 3) -> None:
    """First-layer weights (units, 28, 28) as one mosaic of coloured 28x28 tiles."""
    st.image(colours.weight_mosaic(weights, shared_scale, columns, scale))
    st.caption("Red: ink there raises the unit's input; blue: ink lowers it; white: no effect.")


def canvas_key() -> str:
    return f"canvas_{st.session_state.get(CANVAS_KEY, 0)}"


def guard_canvas_toolbar() -> None:
    """Let touches through the drawing canvas's hidden toolbar (see CANVAS_TOOLBAR_GUARD); call once a run."""
    st.html(CANVAS_TOOLBAR_GUARD, unsafe_allow_javascript=True)


def clear_canvas() -> None:
    """A callback: the canvas gets a new key, which is what clears streamlit-drawable-canvas 0.13."""
    st.session_state[CANVAS_KEY] = st.session_state.get(CANVAS_KEY, 0) + 1
