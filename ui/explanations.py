"""Why this prediction, the nearest training images and the "unsure" warning, for the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import colours, store, unsure
from mnist_mlp import neighbours as search  # not `neighbours`: the view below has that name
from ui import picker, resources, widgets

if TYPE_CHECKING:
    from mnist_mlp import explain

UNITS_SHOWN = 8  # hidden units shown in the "why" view
NEIGHBOURS_SHOWN = 8  # training images shown per kind of distance


@st.cache_resource(show_spinner="Indexing the training images…", max_entries=2)
def _pixel_index(dataset_name: str, source: str) -> search.NeighbourIndex:
    """The training images as (n, 784) vectors; `source` keys a fuller copy found later."""

    training_images = resources.dataset(dataset_name)
    return search.pixel_index(training_images.x_train, training_images.y_train)


# A few models at once in a classroom: each index is ~75 MB for 60,000 images, ~3 MB for the sample.
@st.cache_resource(show_spinner="Reading the training images through the model…", max_entries=4)
def _feature_index(path: str, modified_ns: int, dataset_name: str, source: str) -> search.NeighbourIndex:
    """The training images as the model's output layer reads them."""
    from mnist_mlp import explain

    keras_model = resources.load_model(path, modified_ns).model
    images = resources.dataset(dataset_name)
    return search.build_index(explain.features(keras_model, images.x_train), images.y_train)


def explanation(
    loaded: store.LoadedModel, image: np.ndarray, target: int | None = None
) -> explain.Explanation | None:
    """Why the model reads a (28, 28) image as it does; None, with a note, for a model we cannot explain."""
    from mnist_mlp import explain

    try:
        return explain.explain(loaded.model, image, target)
    except explain.ExplainError as err:
        st.info(f"No explanation for this model: {err}")
        return None


@dataclass(frozen=True)
class Nearest:
    """The training images nearest one image: by pixels, and as the model's last hidden layer sees it."""

    by_pixels: search.Neighbours
    as_seen: search.Neighbours | None = None  # None for a model without a hidden layer


def nearest(loaded: store.LoadedModel, image: np.ndarray, explained: explain.Explanation) -> Nearest:
    """The training images nearest a (28, 28) image, for the neighbour grids."""
    name = picker.dataset_name(loaded.card)
    source = resources.dataset(name).source
    query = search.pixel_vectors(image[None])[0]
    by_pixels = search.nearest(_pixel_index(name, source), query, NEIGHBOURS_SHOWN)
    if explained.unit_activations.size == 0 or loaded.path is None:
        return Nearest(by_pixels)
    index = _feature_index(str(loaded.path), resources.mtime_ns(loaded.path / store.MODEL_FILE), name, source)
    return Nearest(by_pixels, search.nearest(index, explained.features, NEIGHBOURS_SHOWN))


def unsure_warning(loaded: store.LoadedModel, image: np.ndarray) -> unsure.Verdict | None:
    """A warning beside the prediction when the model's answer is a guess or the image is not of its
    kind (see mnist_mlp.unsure); the verdict, or None for a model no verdict can be made for."""
    if loaded.path is None:
        return None
    name = picker.dataset_name(loaded.card)
    modified = resources.mtime_ns(loaded.path / store.MODEL_FILE)
    detector = resources.detector(str(loaded.path), modified, name, resources.dataset(name).source)
    verdict = unsure.judge(detector, loaded.model, image[None])[0]
    if verdict.unsure:
        st.warning(f"**Unsure.** {verdict.reason}", icon=":material/help:")
    return verdict


def unit_tiles(weights: np.ndarray, captions: list[str], alts: list[str], scale: int = 3) -> None:
    """First-layer weight images (k, 28, 28), each in its own colour scale, with captions and alt texts."""
    tiles = colours.diverging(weights, shared_scale=False)
    st.image([colours.enlarge(tile, scale) for tile in tiles], caption=captions, alt=alts)


def why(
    loaded: store.LoadedModel, image: np.ndarray, explained: explain.Explanation, names: list[str]
) -> None:
    """Which pixels and which hidden units made the model's score for the explained class."""
    from mnist_mlp import explain, model

    target = names[explained.target]
    rise = explained.logits[explained.target] - explained.baseline_logit
    pixels, units = st.columns([1, 2])
    caption = f"Pixels for and against {target}"
    alt = (
        f"The input with its pixels coloured by their share in the score for {target}: red where the "
        "ink raised it, blue where it lowered it."
    )
    pixels.image(colours.saliency(image, explained.attribution), caption=caption, width=196, alt=alt)
    weights = model.first_layer_weights(loaded.model)
    with units:
        if explained.unit_activations.size == 0:
            template = f"{target}'s template"
            unit_tiles(weights[[explained.target]], [template], [f"{template}: the weights of its score"])
            st.caption(
                f"This model has no hidden layer: its score for {target} is the ink times this template "
                "(red: ink there raises the score; blue: ink there lowers it)."
            )
        else:
            top = explain.top_units(explained, UNITS_SHOWN)
            captions = [
                f"unit {unit}: fired {activation:.2f}, {contribution:+.2f}"
                for unit, activation, contribution in zip(
                    top.indices, top.activations, top.contributions, strict=True
                )
            ]
            alts = [
                f"unit {unit}'s weights: it fired {activation:.2f} and added {contribution:+.2f} to the score"
                for unit, activation, contribution in zip(
                    top.indices, top.activations, top.contributions, strict=True
                )
            ]
            unit_tiles(weights[top.indices], captions, alts)
            st.caption(
                f"The hidden units that added most to the score for {target}. Each tile is the unit's "
                "first-layer weights (red: ink there excites it; blue: ink there calms it), then how "
                "strongly it fired and how much it added to the score."
            )
    st.caption(
        f"How to read it: red pixels raised the model's score for {target} (its logit, before the "
        "softmax), blue ones lowered it; together they add up to the score's rise from a blank image, "
        f"{rise:+.2f}. Only pixels with ink get a share: a blank image is where the comparison starts."
    )


def neighbours(loaded: store.LoadedModel, found: Nearest, names: list[str]) -> None:
    """Grids of the training images in `found`, with their labels and distances."""
    training_images = resources.dataset(picker.dataset_name(loaded.card))
    st.markdown("**By pixels**: the training images whose 28x28 pixels are closest")
    widgets.digit_grid(
        training_images.x_train[found.by_pixels.indices],
        _neighbour_captions(found.by_pixels, names),
        label="The nearest training images by pixels",
        alts=_neighbour_alts(found.by_pixels, names),
    )
    if found.as_seen is None:
        st.caption("This model has no hidden layer, so it compares images by their pixels alone.")
        return
    st.markdown("**As the model sees them**: closest in its last hidden layer, which its answer is read from")
    widgets.digit_grid(
        training_images.x_train[found.as_seen.indices],
        _neighbour_captions(found.as_seen, names),
        label="The nearest training images as the model sees them",
        alts=_neighbour_alts(found.as_seen, names),
    )
    st.caption("Captions: the training image's label, then its distance (smaller is closer).")


def _neighbour_captions(found: search.Neighbours, names: list[str]) -> list[str]:
    pairs = zip(found.labels, found.distances, strict=True)
    return [f"{names[int(label)]}, {distance:.2f}" for label, distance in pairs]


def _neighbour_alts(found: search.Neighbours, names: list[str]) -> list[str]:
    pairs = zip(found.labels, found.distances, strict=True)
    return [
        f"A training image of {widgets.article(names[int(label)])}, at distance {distance:.2f}"
        for label, distance in pairs
    ]
