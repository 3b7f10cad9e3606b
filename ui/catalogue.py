"""The Models page's pieces: the table of saved models, one model's downloads and export, the upload form."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_mlp import data, safety, store, upload
from ui import classroom, picker, resources, widgets

EXPORTED_KEY = "models_exported"  # session_state: names of the models exported this session


def table(usable: list[store.StoredModel]) -> None:
    """Every usable model, one row each: what it is and how well it reads."""
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": e.name,
                    "dataset": e.card.dataset,
                    "architecture": e.card.config.architecture,
                    "parameters": e.card.config.parameter_count,
                    "test accuracy": e.card.test_accuracy,
                    "epochs": e.card.epochs,
                    "training seconds": round(e.card.training_seconds, 1),
                    "created": e.card.created[:16].replace("T", " "),
                }
                for e in usable
            ]
        ),
        hide_index=True,
        column_config={
            "test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
            "parameters": st.column_config.NumberColumn(format="localized"),
        },
    )


def one_model(usable: list[store.StoredModel]) -> None:
    """Pick one model: its card, its download and export, and its rename and delete."""
    names = [entry.name for entry in usable]
    current = st.session_state.get(picker.MODEL_KEY)
    name = st.selectbox(
        "Model", names, index=names.index(current) if current in names else 0, key="models_pick"
    )
    entry = next(e for e in usable if e.name == name)
    widgets.model_card(entry.card, level=3)
    model_file = entry.path / store.MODEL_FILE
    st.download_button(
        "Download .keras",
        data=model_file.read_bytes,
        file_name=f"{name}.keras",
        mime="application/octet-stream",
        icon=":material/download:",
        key="models_download",
    )
    export(entry)
    classroom.rename_and_delete(name, current)


def export(entry: store.StoredModel) -> None:
    """The Export button, then (made once, kept for the session) the export's download."""
    name = entry.name
    exported = st.session_state.setdefault(EXPORTED_KEY, set())
    if st.button("Export for TensorFlow and TF Lite", key="models_export", icon=":material/deployed_code:"):
        exported.add(name)
    if name not in exported:
        return
    with st.spinner("Exporting: a SavedModel and a TF Lite file, each checked against the model…"):
        try:
            payload = picker.export_zip(entry)
        except (ValueError, OSError) as err:
            exported.discard(name)
            st.error(f"Cannot export {name!r}: {err}")
            return
    st.download_button(
        "Download export (.zip)", data=payload, file_name=f"{name}-export.zip",
        mime="application/zip", icon=":material/download:", key="models_export_download",
    )  # fmt: skip
    st.caption(
        f"{len(payload) / 2**20:.1f} MB: a SavedModel and a .tflite file that take uint8 images "
        "(batch, 28, 28), ink white on black, as they are, and return classes and probabilities; "
        "README.txt and export.json inside say how."
    )


def upload_form() -> None:
    """A .keras file, a name and what it reads; checked, evaluated, carded and saved by `upload.add`."""
    st.caption(
        f"A .keras file of an MLP that maps 28x28 images to 10 probabilities, up to "
        f"{safety.MAX_FILE_BYTES // 2**20} MB. It is checked before loading and loaded in safe mode."
    )
    uploaded = st.file_uploader(
        "A .keras file", type=["keras"], max_upload_size=safety.MAX_FILE_BYTES // 2**20, key="models_upload"
    )
    upload_name = st.text_input("Save it as", placeholder="the file's name", key="models_upload_name")
    upload_data = st.selectbox(
        "It reads", data.DATASETS, format_func=widgets.DATASET_LABELS.get, key="models_upload_data"
    )
    if not st.button(
        "Add to the store", key="models_add", disabled=uploaded is None, icon=":material/upload:"
    ):
        return
    try:
        resources.tensorflow()
        test = resources.dataset(upload_data)
        added = upload.add(classroom.actor(), uploaded.getvalue(), uploaded.name, test, upload_name)
    except (ValueError, OSError) as err:
        st.error(f"Refused: {err}")
    else:
        resources.store_changed()
        picker.select_model(added.name)
        st.success(
            f"{'Replaced' if added.replaced else 'Added'} {added.name!r} ({added.test.accuracy:.2%} on the "
            f"{len(test.y_test):,} test images); it is the picked model from your next click on."
        )
