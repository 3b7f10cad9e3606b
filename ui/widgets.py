"""Small shared widgets: a model's card, digits and digit grids, weight mosaics, the canvas's key, guard,
and the choice between a confusion matrix's counts and shares."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import streamlit as st
from PIL import Image

from mnist_mlp import colours, store
from ui import links

DATASET_LABELS = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST clothes"}
MATRIX_VIEWS = {"counts": "Counts", "share": "Share of each true class"}  # a confusion matrix's cells
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


def model_card(card: store.Card, level: int = 2) -> None:
    """A model's card: what it is, how well it reads, and what it was trained on.

    Args:
        level: the card's heading level, 2 (st.header) or 3 (st.subheader): one below the section
            it is shown in, so that the page's headings never skip a level.
    """
    (st.header if level == 2 else st.subheader)(card.name)
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
    return colours.enlarge(image, scale) if image.ndim == 2 else image


def digit(image: np.ndarray, caption: str | None = None, size: int = 140, alt: str | None = None) -> None:
    """One image shown large, with sharp pixels.

    Args:
        alt: what the image shows, for a screen reader ("a 4, read as 9 at 93%"); the caption when None.
    """
    shown = _pixels(image, max(1, size // max(image.shape[:2])))
    st.image(shown, caption=caption, width=size, alt=alt or caption or "a 28x28 image")


def digit_grid(
    images: np.ndarray, captions: list[str], label: str, alts: list[str] | None = None, size: int = 84
) -> None:
    """Images (n, 28, 28) in a wrapping grid, each with its caption, announced as one group.

    The grid is one HTML block, a group named `label` ("40 training images") of figures, so that a
    screen reader announces one group rather than n bare images; each image's alt text is its entry
    in `alts` (the caption when None), which should say what it shows in the page's terms.
    """
    if not len(images):
        return
    alts = alts if alts is not None else captions
    figures = "".join(
        f'<figure style="margin:0;width:{size}px"><img src="{png_data_url(image)}" alt="{html.escape(alt)}" '
        f'width="{size}" height="{size}" style="image-rendering:pixelated;display:block">'
        f'<figcaption aria-hidden="true" style="font-size:0.8rem;line-height:1.2;overflow-wrap:anywhere">'
        f"{html.escape(caption)}</figcaption></figure>"
        for image, caption, alt in zip(images, captions, alts, strict=True)
    )
    st.html(
        f'<div role="group" aria-label="{html.escape(label)}" '
        f'style="display:flex;flex-wrap:wrap;gap:0.75rem 0.5rem">{figures}</div>'
    )


def sample_grid(
    images: np.ndarray, labels: np.ndarray, class_names: list[str], count: int, seed: int, kind: str
) -> None:
    """`count` of the images (n, 28, 28), picked at random by `seed` without repeats, as a digit grid
    captioned with their numbers and labels; `kind` names one ("training image")."""
    picked = np.random.default_rng(seed).choice(len(labels), size=min(count, len(labels)), replace=False)
    named = [class_names[labels[i]] for i in picked]
    digit_grid(
        images[picked],
        [f"#{i}: {name}" for i, name in zip(picked, named, strict=True)],
        label=f"{len(picked)} {kind}s, picked at random",
        alts=[f"{kind.capitalize()} #{i}: {article(name)}" for i, name in zip(picked, named, strict=True)],
    )


def article(name: str) -> str:
    """A class name with its indefinite article, as a sentence says it: "a 4", "an 8", "an Ankle boot"."""
    spoken_vowel = name[:1].lower() in "aeiou8"
    return f"{'an' if spoken_vowel else 'a'} {name}"


def png_data_url(image: np.ndarray) -> str:
    """A (28, 28) or (h, w, 3) image, in [0, 1] or uint8, as a data: URL of a PNG at its own size."""
    buffer = io.BytesIO()
    Image.fromarray(_pixels(image, 1)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def weight_grid(
    weights: np.ndarray, shared_scale: bool = False, columns: int = 8, scale: int = 3, what: str = "unit"
) -> None:
    """First-layer weights (units, 28, 28) as one mosaic of coloured 28x28 tiles.

    Args:
        what: what one tile is, for the image's alt text ("unit", "class template").
    """
    st.image(
        colours.weight_mosaic(weights, shared_scale, columns, scale),
        alt=weights_alt(len(weights), columns, shared_scale, what),
    )
    st.caption("Red: ink there raises the unit's input; blue: ink lowers it; white: no effect.")


def weights_alt(count: int, columns: int, shared_scale: bool, what: str = "unit") -> str:
    """The alt text of a weight mosaic: what its tiles are, in what order, and how to read their colours."""
    rows = -(-count // columns)
    scale = "one colour scale for all" if shared_scale else "each tile in its own colour scale"
    return (
        f"The first-layer weights of {count} {what}{'s' if count != 1 else ''}, {what} 0 first, as 28x28 "
        f"tiles in {rows} row{'s' if rows != 1 else ''} of up to {columns}, {scale}: red where ink raises "
        "the input, blue where it lowers it, white where it has no effect."
    )


def canvas_key() -> str:
    return f"canvas_{st.session_state.get(CANVAS_KEY, 0)}"


def guard_canvas_toolbar() -> None:
    """Let touches through the drawing canvas's hidden toolbar (see CANVAS_TOOLBAR_GUARD); call once a run."""
    st.html(CANVAS_TOOLBAR_GUARD, unsafe_allow_javascript=True)


def clear_canvas() -> None:
    """A callback: the canvas gets a new key, which is what clears streamlit-drawable-canvas 0.13."""
    st.session_state[CANVAS_KEY] = st.session_state.get(CANVAS_KEY, 0) + 1


def share_view(key: str, param: str) -> bool:
    """Whether a confusion matrix shows each cell as a share of its true class (True) or as a count,
    chosen with a radio (reached and changed by keyboard) kept in the URL's `param` (left out for counts).
    """
    links.url_bound(param, key, list(MATRIX_VIEWS), "counts")
    choice = st.radio(
        "Cells show", list(MATRIX_VIEWS), format_func=MATRIX_VIEWS.get, horizontal=True, key=key,
        help="Share of each true class: each cell divided by how many images of its true class there are "
        "(a row sums to 100%), so a class with more test images does not look worse for it.",
    )  # fmt: skip
    return choice == "share"
