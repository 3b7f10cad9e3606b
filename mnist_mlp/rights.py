"""Who may change which saved model: shipped models for nobody, a session's own models for it, all for
a teacher or the command line. The app and the CLI both save, rename and delete through here.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_mlp import store

if TYPE_CHECKING:
    import keras
    import numpy as np

    from mnist_mlp import unsure

# The models in the repository's saved_models/ that ship with the app. A name is reserved while the
# shipped folder holds it: nobody saves, uploads or renames onto it in any store, so a user's model can
# never pass for a shipped one, nor a shipped one be replaced. Its maintainers rebuild one by removing
# its folder by hand first, then running the command in saved_models/README.md.
SHIPPED_MODELS = (store.DEFAULT_MODEL, "fashion-mlp")  # the default: see store.DEFAULT_MODEL
ACTIONS = ("rename", "delete", "replace")  # what `decide` rules on; using and copying are everyone's
APP_SAVES = ("app", "upload")  # Card.saved_by values that a browser session's owner id goes with


class RightsError(store.StoreError):
    """Someone asked to change a model they have no right to change; the message says why."""


@dataclass(frozen=True)
class Actor:
    """Who asks: the command line, or one browser session (by its opaque owner id), maybe a teacher."""

    kind: str  # "cli" or "app"
    owner: str = ""  # the browser session's random id (not personal data); "" for the CLI
    teacher: bool = False  # the session entered the teacher password

    def __post_init__(self) -> None:
        if self.kind not in ("cli", "app"):
            raise ValueError(f"Expected kind 'cli' or 'app'. Received: kind={self.kind!r}")
        if self.kind == "app" and not self.owner:
            raise ValueError("Expected an owner id for a browser session. Received: owner=''")


CLI = Actor("cli")


@dataclass(frozen=True)
class Decision:
    """Whether an actor may do something to a model, and if not, why, in words for a person."""

    allowed: bool
    reason: str = ""


def is_shipped(name: str) -> bool:
    """Whether `name` is a model that ships with the app (and so is never changed by anyone)."""
    return name in SHIPPED_MODELS and (store.SHIPPED_STORE / name).is_dir()


def decide(actor: Actor, action: str, name: str, store_folder: str | os.PathLike | None = None) -> Decision:
    """May `actor` rename, delete or replace the model `name`? See the module docstring for the rules.

    Args:
        action: "rename", "delete" or "replace" (save another model under its name).
    """
    if action not in ACTIONS:
        raise ValueError(f"Expected an action in {sorted(ACTIONS)}. Received: action={action!r}")
    if is_shipped(name):
        return Decision(
            False,
            f"{name!r} ships with the app: it can be used, copied and exported, "
            "never renamed, deleted or replaced.",
        )
    if actor.kind == "cli" or actor.teacher:
        return Decision(True)
    why = _saved_by(name, store_folder, actor.owner)
    if why is None:
        return Decision(True)
    return Decision(
        False,
        f"Only the browser session that saved {name!r}, or a teacher, can rename, "
        f"delete or replace it: {why}.",
    )


def _saved_by(name: str, store_folder: str | os.PathLike | None, owner: str = "") -> str | None:
    """Why the model is not this session's, from its card; None when the card names `owner`."""
    folder = store.find(name, store_folder)
    if folder is None:
        return "there is no such model"
    try:
        card = store.read_card(folder)
    except (OSError, ValueError):
        return "its card cannot be read, so who saved it is unknown"
    if card.saved_by in APP_SAVES and owner and _same_secret(card.owner, owner):
        return None
    return {
        "app": "it was saved in another browser session",
        "upload": "it was uploaded in another browser session",
        "cli": "it was saved from the command line",
    }.get(card.saved_by, "its card does not say who saved it")


def check(actor: Actor, action: str, name: str, store_folder: str | os.PathLike | None = None) -> None:
    """RightsError saying why when `actor` may not do `action` to the model `name`."""
    decision = decide(actor, action, name, store_folder)
    if not decision.allowed:
        raise RightsError(decision.reason)


def check_new_name(name: str) -> str:
    """The name, if a model may be saved or renamed onto it; RightsError for a shipped model's name."""
    if is_shipped(store.check_name(name)):
        raise RightsError(f"The name {name!r} belongs to a model that ships with the app. Choose another.")
    return name


def save(
    actor: Actor,
    model: keras.Model,
    card: store.Card,
    *,
    overwrite: bool = False,
    uploaded: bool = False,
    snapshots: dict[int, np.ndarray] | None = None,
    detector: unsure.Detector | None = None,
    store_folder: str | os.PathLike | None = None,
) -> tuple[Path, bool]:
    """Save a model as `actor`, its card saying who saved it; the folder, and whether it replaced one.

    Args:
        overwrite: replace a model of that name when `actor` may (RightsError says whose it is
            otherwise); without it a taken name is a StoreError. Either way a name someone takes
            between this check and the save is never landed on: `store.save` refuses it.
        uploaded: the model came as a file, not from training; its card says so.
    """
    check_new_name(card.name)
    saved_by = "upload" if uploaded else actor.kind
    card = dataclasses.replace(card, saved_by=saved_by, owner=actor.owner)
    replacing = store.find(card.name, store_folder) is not None
    if replacing and not overwrite:
        raise store.StoreError(f"A model named {card.name!r} already exists. Choose another name.")
    if replacing and not decide(actor, "replace", card.name, store_folder).allowed:
        why = _saved_by(card.name, store_folder, actor.owner)
        raise RightsError(
            f"A model named {card.name!r} already exists, and only the session that saved "
            f"it or a teacher may replace it: {why}. Choose another name."
        )
    path = store.save(
        model, card, snapshots=snapshots, detector=detector, store=store_folder, overwrite=replacing
    )
    return path, replacing


def rename(actor: Actor, old: str, new: str, store_folder: str | os.PathLike | None = None) -> Path:
    """Rename a model as `actor`; RightsError when it may not, StoreError when the new name is taken."""
    check(actor, "rename", old, store_folder)
    check_new_name(new)
    return store.rename(old, new, store_folder)


def delete(actor: Actor, name: str, store_folder: str | os.PathLike | None = None) -> None:
    """Delete a model as `actor`; RightsError when it may not."""
    check(actor, "delete", name, store_folder)
    store.delete(name, store_folder)


def password_matches(given: str, expected: str | None) -> bool:
    """Whether `given` is the teacher password; never when none is set. Constant time, as for secrets."""
    if not expected or not isinstance(given, str):
        return False
    return _same_secret(given, expected)


def _same_secret(given: str, expected: str) -> bool:
    """Constant-time equality; as bytes, since compare_digest refuses str with non-ASCII characters
    (a hand-edited card's owner, a teacher password with accents) with a TypeError."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
