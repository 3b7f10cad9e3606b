"""The app's entry point and router: `streamlit run app.py`.

Every page lives in pages/; the model picker in the sidebar is shared by all of them.
"""

import streamlit as st

from ui import picker, resources, training

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
    st.Page(
        "pages/misclassifications.py",
        title="Misclassifications",
        icon=":material/error:",
        url_path="misclassifications",
    ),
    st.Page("pages/weights.py", title="Weights", icon=":material/grid_on:", url_path="weights"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    st.Page("pages/drawings.py", title="My drawings", icon=":material/gesture:", url_path="drawings"),
    st.Page("pages/board.py", title="Class board", icon=":material/co_present:", url_path="board"),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:", url_path="data"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:", url_path="models"),
]

if __name__ == "__main__":  # a session's script run
    st.set_page_config(page_title="mnist-mlp", page_icon=":material/draw:", layout="wide")
    page = st.navigation(PAGES)
    picker.model_picker()
    training.sidebar_status()
    page.run()
    resources.page_served()
else:  # `streamlit run` found this st.App and serves it: TensorFlow loads while the server starts
    app = st.App(__file__, lifespan=resources.preloading)
