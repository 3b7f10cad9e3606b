"""Compare: two runs trained side by side (a linear model next to an MLP, say), or two saved models."""

import streamlit as st

from ui import comparison, links, through_app

through_app()
st.title("Compare two models")
st.write("A linear model next to an MLP, augmentation on and off, digits and clothes: side by side.")
if comparison.mode() == "saved":
    shown = comparison.saved_runs()
    links.class_link()
else:
    shown = comparison.two_runs()
if shown:
    comparison.side_by_side(*shown)
