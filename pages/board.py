"""Class board: the class's drawings as they are saved, what the model reads in them, and a copy of the
model fine-tuned on them, for the projector."""

import streamlit as st

from ui import board, picker, through_app

through_app()
st.title("Class board")
entry = picker.current_entry()
loaded = picker.current_model()
if entry is None or loaded is None:
    st.stop()
folder = board.collection_choice()
if folder is None:
    st.stop()
board.live_board(entry, folder)
board.fine_tune_section(entry, loaded, folder)
