"""The Train page's settings: dataset, architecture and how to train, each kept in the page's URL."""

from __future__ import annotations

import streamlit as st

from mnist_mlp import data, model
from ui import links, widgets

CUSTOM = "custom"
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)
MAX_OUTLIERS_HERE = 20_000  # images of no class on this page: more would keep a class waiting minutes


def pen_strokes_input(dataset_name: str, base: model.MLPConfig, preset: str) -> int:
    """How many pen-stroke renders of each digit to train on; digits only."""
    if dataset_name != "mnist":
        return 0
    return int(
        st.number_input(
            "Pen-stroke renders per digit",
            0,
            model.MAX_PEN_STROKES,
            base.pen_strokes,
            key=f"train_pen_{preset}",
            help="Digits as people draw them: each training digit also drawn again with one pen, a few "
            "strokes, any size. Reads drawings better, but costs time before the first run, once per "
            "server: about 5 s per 1,000 renders (on the full MNIST, 2 a digit take about 10 minutes).",
        )
    )


def settings() -> tuple[str, model.MLPConfig | None]:
    """The settings widgets; the config is None (with an error shown) when they do not fit together."""
    data_column, model_column, training_column = st.columns(3)
    with data_column:
        name, preset = dataset_and_preset()
    base = model.PRESETS.get(preset, model.preset(model.DEFAULT_PRESET))
    with model_column:
        changes = layers(preset, base)
    with training_column:
        changes |= optimizer_settings(base, preset) | data_settings(name, base, preset)
    try:
        return name, base.replace(**changes)
    except ValueError as err:
        st.error(str(err))
        return name, None


def dataset_and_preset() -> tuple[str, str]:
    """The dataset's and the architecture's select boxes (both in the URL): their names."""
    presets = [*model.PRESETS, CUSTOM]
    links.url_bound("dataset", "train_dataset", data.DATASETS, data.DATASETS[0])
    name = st.selectbox("Dataset", data.DATASETS, format_func=widgets.DATASET_LABELS.get, key="train_dataset")
    links.url_bound("preset", "train_preset", presets, model.DEFAULT_PRESET)
    preset = st.selectbox("Architecture", presets, presets.index(model.DEFAULT_PRESET), key="train_preset")
    return name, preset


def layers(preset: str, base: model.MLPConfig) -> dict:
    """A custom architecture's layers, activation and dropout as config changes; a preset's, described."""
    if preset != CUSTOM:
        st.markdown(f"**{base.architecture}**, {base.activation}, dropout {base.dropout_rate:g}")
        return {}
    count = st.number_input("Hidden layers", 0, 4, 1, key="train_layers")
    return {
        "hidden_units": tuple(
            st.number_input(f"Units in hidden layer {i + 1}", 1, 4096, 128, 16, key=f"train_units_{i}")
            for i in range(int(count))
        ),
        "activation": st.selectbox("Activation", model.ACTIVATIONS, key="train_activation"),
        "dropout_rate": st.slider("Dropout rate", 0.0, 0.8, 0.2, 0.05, key="train_dropout"),
    }


def optimizer_settings(base: model.MLPConfig, preset: str) -> dict:
    """Optimizer, learning rate and its decay, batch size and epochs, from `base`; the rate and the
    epochs in the URL."""
    optimizers, decays = model.OPTIMIZERS, model.LEARNING_RATE_DECAYS
    rate = base.learning_rate if base.learning_rate in LEARNING_RATES else 1e-3
    links.url_bound("learning_rate", f"train_lr_{preset}", LEARNING_RATES, rate)
    links.url_bound("epochs", f"train_epochs_{preset}", links.int_in(1, 500), base.epochs)
    return {
        "optimizer": st.selectbox(
            "Optimizer", optimizers, optimizers.index(base.optimizer), key=f"train_opt_{preset}"
        ),
        "learning_rate": st.select_slider("Learning rate", LEARNING_RATES, rate, key=f"train_lr_{preset}"),
        "learning_rate_decay": st.selectbox(
            "Learning-rate decay", decays, decays.index(base.learning_rate_decay), key=f"train_decay_{preset}"
        ),
        "batch_size": st.select_slider(
            "Batch size", BATCH_SIZES, base.batch_size, key=f"train_batch_{preset}"
        ),
        "epochs": int(st.number_input("Epochs", 1, 500, base.epochs, key=f"train_epochs_{preset}")),
    }


def data_settings(dataset_name: str, base: model.MLPConfig, preset: str) -> dict:
    """What the training images get: augmentation (in the URL), mirroring, pen-stroke renders, images
    of no class; and the seed."""
    links.url_bound("augment", f"train_aug_{preset}", (False, True), base.augment)
    return {
        "augment": st.toggle(
            "Augment: shifts, rotations, elastic bends", base.augment, key=f"train_aug_{preset}"
        ),
        "mirror": st.toggle(
            "Mirror left-right (clothing)",
            base.mirror,
            key=f"train_mirror_{preset}",
            help="Flips a random half of the images each epoch: right for clothes, wrong for digits.",
        ),
        "pen_strokes": pen_strokes_input(dataset_name, base, preset),
        "outliers": int(
            st.number_input(
                "Images of no class (outlier exposure)",
                0,
                MAX_OUTLIERS_HERE,
                base.outliers,
                1000,
                key=f"train_outliers_{preset}",
                help="Scribbles, shapes, letters and pictures of the other dataset, taught to get an "
                "even 10% on every class, so the model says Unsure for what is not of its kind.",
            )
        ),
        "seed": int(st.number_input("Seed", 0, 2**31 - 1, base.seed, key="train_seed")),
    }
