"""This browser session in a classroom: its owner id, teacher rights, and the rename and delete controls.

The rules are `mnist_mlp.rights`'; here they meet st.session_state. A session's owner id is a random
token made on its first use and kept in st.session_state, so it lives as long as the browser tab's
session: a model is that session's to rename or delete, and a teacher's.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import streamlit as st

from mnist_mlp import rights
from ui import picker, resources

OWNER_KEY = "owner_id"  # session_state: this session's opaque owner id
TEACHER_KEY = "teacher"  # session_state: True once this session entered the teacher password
PASSWORD_ENV = "MNIST_MLP_TEACHER_PASSWORD"  # set by whoever starts the server
PASSWORD_SECRET = "teacher_password"  # or this key in .streamlit/secrets.toml


def owner_id() -> str:
    """This session's owner id: 128 random bits, made once per session, no personal data."""
    state = st.session_state
    if not state.get(OWNER_KEY):
        state[OWNER_KEY] = secrets.token_urlsafe(16)
    return state[OWNER_KEY]


def actor() -> rights.Actor:
    """This session as `rights` sees it: its owner id, and whether it holds teacher rights."""
    return rights.Actor("app", owner_id(), teacher=bool(st.session_state.get(TEACHER_KEY)))


def teacher_password() -> str | None:
    """The teacher password the server was started with, or None when none is set (no teacher then)."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    try:
        password = st.secrets.get(PASSWORD_SECRET)
    except FileNotFoundError:  # no secrets.toml (StreamlitSecretNotFoundError is one)
        return None
    return password if isinstance(password, str) and password else None


def teacher_box() -> None:
    """A password box that gives this session teacher rights; says so when no password is set."""
    state = st.session_state
    with st.expander("Teacher", icon=":material/school:", expanded=bool(state.get(TEACHER_KEY))):
        if state.get(TEACHER_KEY):
            st.caption(
                "Teacher rights are on in this session: you can rename, delete and replace any "
                "model but the shipped ones."
            )
            if st.button("Give up teacher rights", key="teacher_lock"):
                state[TEACHER_KEY] = False
                st.rerun()
            return
        expected = teacher_password()
        if expected is None:
            st.caption(
                f"No teacher password is set on this server (${PASSWORD_ENV}, or {PASSWORD_SECRET} "
                "in .streamlit/secrets.toml): no one has teacher rights."
            )
            return
        given = st.text_input("Teacher password", type="password", key="teacher_password_input")
        if st.button("Unlock", key="teacher_unlock", disabled=not given):
            if rights.password_matches(given, expected):
                state[TEACHER_KEY] = True
                st.rerun()
            st.error("Wrong teacher password.")


def rename_and_delete(name: str, picked: str | None) -> None:
    """The Models page's Rename and Delete, for this session only where `rights` allows, else disabled
    with the reason. A click on a disabled button (a crafted request) is checked again and refused.

    Args:
        picked: the sidebar picker's model, followed to the new name when it is the one renamed.
    """
    who = actor()
    decision = rights.decide(who, "delete", name)
    refused = not decision.allowed
    why = decision.reason or None
    if refused:
        st.caption(decision.reason)
    rename_column, delete_column = st.columns(2)
    with rename_column:
        new_name = st.text_input("New name", name, key=f"models_new_name_{name}", disabled=refused)
        unchanged = new_name.strip() in ("", name)
        rename = st.button("Rename", key="models_rename", disabled=refused or unchanged, help=why)
        if rename and _changed(lambda: rights.rename(who, name, new_name.strip())):
            if picked == name:
                picker.select_model(new_name.strip())
            st.rerun()
    with delete_column:
        sure = st.checkbox(f"Yes, delete {name} for good", key=f"models_sure_{name}", disabled=refused)
        delete = st.button(
            "Delete", key="models_delete", disabled=refused or not sure, icon=":material/delete:", help=why
        )
        if delete and _changed(lambda: rights.delete(who, name)):
            st.rerun()


def _changed(change: Callable[[], object]) -> bool:
    """Run a store change; True when done, False with the reason shown when refused or failed."""
    try:
        change()
    except (ValueError, OSError) as err:
        st.error(str(err))
        return False
    resources.store_changed()
    return True
