"""Models: every saved model side by side; rename or delete (with the right), download, export, upload."""

import streamlit as st

from ui import catalogue, classroom, picker, through_app

through_app()
st.title("Models")
entries = picker.models()
usable = [entry for entry in entries if entry.card is not None]
for entry in entries:
    if entry.card is None:
        st.warning(f"{entry.name}: {entry.error}")
if not usable:
    picker.no_model()
else:
    catalogue.table(usable)
    st.header("One model")
    catalogue.one_model(usable)

st.header("Upload a model")
catalogue.upload_form()
classroom.teacher_box()
