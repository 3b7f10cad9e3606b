"""Probe the drawing (Draw page): move, turn, resize or thicken the input, or skip a preparation step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mnist_mlp import store
from ui import picker, widgets

if TYPE_CHECKING:
    from mnist_mlp import probe

PROBE_SLIDERS = {  # session_state key: probe.Probe field, label, min, max, step, default, help
    "probe_shift_x": ("shift_x", "Shift right (px)", -10.0, 10.0, 0.5, 0.0, "Negative: to the left."),
    "probe_shift_y": ("shift_y", "Shift down (px)", -10.0, 10.0, 0.5, 0.0, "Negative: up."),
    "probe_rotation": ("rotation", "Rotate (degrees)", -180.0, 180.0, 5.0, 0.0, "Anticlockwise."),
    "probe_scale": ("scale", "Scale", 0.5, 2.0, 0.05, 1.0, "Size about the ink's centre of mass."),
    "probe_stroke": ("stroke", "Stroke width (px added)", -2.0, 4.0, 0.5, 0.0, "Negative: thinner."),
}
KEPT_KEY = "probe_kept"  # session_state: the settings, kept while the Probe section is closed
PROBE_SWITCHES = {  # session_state key: preprocess.prepare argument, label, what happens without it
    "probe_crop": ("crop", "Crop to the ink", "Off: the whole canvas is shrunk, the empty space with it."),
    "probe_fit": ("scale", "Scale to 20 px", "Off: the drawing keeps its size relative to the canvas."),
    "probe_centre": (
        "centre",
        "Centre by mass",
        "Off: the ink's box is centred instead (with cropping off too, the drawing stays where it was).",
    ),
    "probe_strokes": ("stroke", "Strokes to MNIST's width", "Off: strokes stay as scaling makes them."),
}


@dataclass(frozen=True)
class ProbeSettings:
    """The probe's switches and sliders as the library takes them."""

    steps: dict[str, bool]  # preprocess.prepare's crop, scale, centre and stroke switches
    transform: probe.Probe  # what to do to the prepared 28x28 input


def probe_controls() -> ProbeSettings:
    """The probe's sliders, preparation switches and Reset button; their current settings."""
    from mnist_mlp import probe

    state = st.session_state
    kept = state.setdefault(KEPT_KEY, {})  # Streamlit forgets widgets that were hidden; we do not
    for key, (*_, default, _help) in PROBE_SLIDERS.items():
        state.setdefault(key, kept.get(key, default))  # set before the widget, which needs no default
    for key in PROBE_SWITCHES:
        state.setdefault(key, kept.get(key, True))
    sliders, switches = st.columns([3, 2], gap="large")
    with sliders:
        values = {
            field: st.slider(label, low, high, step=step, key=key, help=help)
            for key, (field, label, low, high, step, _default, help) in PROBE_SLIDERS.items()
        }
    with switches:
        st.caption("Preparation steps")
        steps = {
            argument: st.toggle(label, key=key, help=help)
            for key, (argument, label, help) in PROBE_SWITCHES.items()
        }
        st.button("Reset", on_click=reset_probe, icon=":material/restart_alt:", key="probe_reset")
    kept.update({key: state[key] for key in (*PROBE_SLIDERS, *PROBE_SWITCHES)})
    return ProbeSettings(steps, probe.Probe(**{field: float(value) for field, value in values.items()}))


def reset_probe() -> None:
    """A callback: every probe slider and switch back to its default (no change, every step on)."""
    for key, (*_, default, _help) in PROBE_SLIDERS.items():
        st.session_state[key] = default
    for key in PROBE_SWITCHES:
        st.session_state[key] = True
    st.session_state.pop(KEPT_KEY, None)


def probe_comparison(
    loaded: store.LoadedModel, names: list[str], original: np.ndarray, probed: np.ndarray
) -> None:
    """The prepared input and the probed one side by side, with both sets of probabilities."""
    import pandas as pd

    before, after = picker.predict(loaded, original), picker.predict(loaded, probed)  # (10,) each
    best, probed_best = int(before.argmax()), int(after.argmax())
    left, right = st.columns(2)
    with left:
        widgets.digit(original, "As prepared", size=140, alt="The input as prepared, before the probe")
        st.metric("Prediction as prepared", names[best], help=f"{before[best]:.1%} sure")
    with right:
        widgets.digit(probed, "Probed", size=140, alt="The input as probed: what the model reads now")
        change = f"{after[best] - before[best]:+.1%} for {names[best]}"
        sure = f"{after[probed_best]:.1%} sure"
        st.metric("Probed prediction", names[probed_best], delta=change, help=sure)
    table = pd.DataFrame(
        {
            "class": names * 2,
            "probability": np.concatenate([before, after]).astype(float),
            "input": ["as prepared"] * len(names) + ["probed"] * len(names),
        }
    )
    st.bar_chart(table, x="class", y="probability", color="input", stack=False, sort=False, height=240)
    st.caption(
        "Each of the model's 784 inputs is one fixed pixel: it has no idea that a shifted, turned or "
        "bigger digit is the same shape. That is why every drawing is cropped, scaled and centred first."
    )


def probe_section(
    loaded: store.LoadedModel, names: list[str], image: np.ndarray, centred: np.ndarray
) -> None:
    """The probe's controls, then the drawing prepared and probed as they say, beside the original."""
    from mnist_mlp import preprocess, probe

    settings = probe_controls()
    prepared = preprocess.prepare(image, **settings.steps)  # the same image prepare() just read
    if prepared is None:
        st.warning("Without these steps nothing of the drawing is left in the 28x28 field.")
        return
    probed = probe.apply(prepared.centred, settings.transform)
    if probed.max() < preprocess.MIN_CONTRAST:  # so faint that a canvas would count it as empty
        st.warning("Hardly any ink is left in the probed input: the model reads what remains.")
    probe_comparison(loaded, names, centred, probed)
