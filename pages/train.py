"""Train: choose data, a model and how to train it; watch it learn live; then save, test or go on."""

import streamlit as st

from ui import links, run_views, through_app, train_settings, training

through_app()
st.title("Train a model")
session = training.current()
busy = session is not None and not session.job.done
with st.expander("Settings", expanded=session is None):
    dataset_name, config = train_settings.settings()
    if config is not None:
        st.caption(f"{config.architecture}: {config.parameter_count:,} parameters.")
    links.class_link()
if st.button("Start training", type="primary", disabled=busy or config is None, key="train_start"):
    try:
        training.start_training(config, dataset_name)
    except ValueError as err:  # training data that cannot be made as asked
        st.error(f"Not started: {err}")
    else:
        st.rerun()
if session is not None and busy:
    run_views.live(session)
    run_views.live_weights(session)
elif session is not None:
    run_views.results(session)
