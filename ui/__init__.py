"""The app's shared Streamlit pieces, one module per concern; pages import the modules they use.

`resources` (every st.cache_* wrapper), `picker` (the model picker and the picked model), `training`
(this session's runs), `widgets` and `charts`, `links` (settings in the URL), `collection` (my
drawings), `probing` and `explanations` (the Draw page's probe and "why"), `classroom` (this session's
owner id and teacher rights), `legacy_pages` (the guard every page calls first, as `through_app()`),
and the widget groups of the larger pages: `train_settings` and `run_views` (Train), `comparison`,
`inputs` (Draw), `mistakes`, `drawings_view`, `catalogue` (Models).
TensorFlow is imported only by the functions that need it.
"""

from ui.legacy_pages import through_app

__all__ = ["through_app"]
