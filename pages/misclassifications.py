"""Misclassifications: the test images the model gets wrong, filtered by class, and where errors cluster."""

import streamlit as st

from ui import mistakes, picker, through_app

through_app()
st.title("Misclassifications")
entry = picker.current_entry()
on_drawings = mistakes.on_my_drawings()
evaluation = picker.evaluation(entry, on_drawings) if entry is not None else None
if entry is None:
    picker.no_model()
if evaluation is None:
    st.stop()
names = picker.class_names(entry.card)
test = picker.test_data(entry.card, on_drawings)
mistakes.summary(entry, evaluation, on_drawings)
picked = mistakes.url_filters()  # before the charts: they outline it, and their clicks set it
mistakes.confusion_and_accuracy(evaluation, names, picked)

st.header("The mistakes")
found, shown = mistakes.filtered(evaluation, names)
if not found:
    st.info("No mistakes with these filters.")
    st.stop()
picked = mistakes.gallery(found[:shown], test, names)
mistakes.closer_look(entry, evaluation, test, names, picked)
