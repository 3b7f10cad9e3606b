"""Train: choose data, a model and how to train it, at full speed or a lesson's pace; watch it learn live;
then save, test, replay or go on. Opened through a watch link, it shows someone else's run, read-only."""

import streamlit as st

from ui import lesson_views, links, run_views, through_app, train_settings, training

through_app()
st.title("Train a model")
watching = lesson_views.watch_id_in_link()
session = training.current()
busy = session is not None and not session.job.done
if watching:
    run_views.watch_page(watching)
else:
    with st.expander("Settings", expanded=session is None):
        dataset_name, config = train_settings.settings()
        if config is not None:
            st.caption(f"{config.architecture}: {config.parameter_count:,} parameters.")
        links.class_link()
    lesson_views.pace_setting()
    if st.button("Start training", type="primary", disabled=busy or config is None, key="train_start"):
        try:
            training.start_training(config, dataset_name, pace=lesson_views.new_pace())
        except ValueError as err:  # training data that cannot be made as asked
            st.error(f"Not started: {err}")
        else:
            st.rerun()
    if session is not None:
        run_views.own_run(session)
