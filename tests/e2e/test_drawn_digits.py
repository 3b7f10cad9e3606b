"""All ten digits drawn in a real browser as people draw them, by mouse and by touch, and on a phone.

Each drawing is pen strokes traced from a real MNIST test digit (`pen`), drawn at its own size, place
and brush width; the browser must read it as the library reads the same strokes, which is right.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from tests.e2e.conftest import assert_no_exception, open_page, screenshot, wait_for_idle, watch_runs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CANVAS_PIXELS = 280  # the Draw page's canvas, CSS px; pen strokes are in its coordinates
MAX_POINTS = 40  # per stroke: every k-th traced point, still smooth, and light on a loaded browser
STEPS = 3  # pointer moves per segment between two stroke points
MARGIN = 6  # canvas px kept clear around a drawing, so that a shaky hand never leaves the canvas
SHAKE = 0.01  # a slightly unsteady hand: points wander by up to 1% of the drawing's size
LEGIBLE_SHARE = 6  # a drawing at least this many brush widths tall or wide stays legible
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-14's screen in CSS px
SCREENS = {  # browser context options for each way of drawing
    "mouse": {"viewport": DESKTOP},
    "touch": {"viewport": DESKTOP, "has_touch": True},
    "phone": {"viewport": PHONE, "device_scale_factor": 3, "is_mobile": True, "has_touch": True},
}

# (brush, size, down, across): the pen width and the drawing's longer side in canvas px, then where
# the drawing sits in the room the canvas leaves it: 0 at the top (left) edge, 1 at the bottom (right).
Layout = tuple[int, int, float, float]
MOUSE_LAYOUTS: list[Layout] = [  # one per digit, 0 to 9
    (20, 180, 0.0, 0.0), (12, 130, 1.0, 1.0), (30, 220, 0.2, 0.8), (8, 120, 0.0, 1.0),
    (36, 240, 0.5, 0.3), (16, 150, 1.0, 0.0), (24, 200, 0.7, 0.6), (10, 140, 0.3, 0.1),
    (40, 250, 0.6, 0.4), (14, 160, 0.9, 0.5),
]  # fmt: skip
TOUCH_LAYOUTS: list[Layout] = [
    (14, 150, 1.0, 1.0), (28, 200, 0.0, 0.3), (10, 130, 0.5, 0.0), (20, 190, 1.0, 0.6),
    (8, 130, 0.0, 1.0), (34, 230, 0.4, 0.5), (12, 140, 0.0, 0.0), (24, 170, 0.8, 1.0),
    (18, 250, 0.5, 0.2), (16, 120, 1.0, 0.0),
]  # fmt: skip
PHONE_DIGIT, PHONE_LAYOUT = 4, (16, 170, 0.3, 0.7)

# The canvas's own toolbar (Update, Undo, Redo, Edit, Reset) lies unseen (opacity 0) over the top-right
# of the canvas, x >= 139 and y <= 30 canvas px, and only moves up out of the way while the pointer
# hovers the canvas. A finger never hovers, so the page lets touches through the toolbar while it is
# hidden (widgets.guard_canvas_toolbar): a stroke may start there, and a tap there draws, not resets.
TOOLBAR_ZONE = (135, 34)  # canvas px, with a little to spare: x from, y up to
CORNER_STROKE = np.array([[150, 16], [205, 15], [262, 16], [240, 70], [214, 126]], np.float32)  # a 7
CORNER_TAP = (265, 7)  # canvas px: where the Reset button lies, unseen

CANVAS = "canvas.upper-canvas"  # the Draw page's drawing surface (in the component's shadow DOM)
PREDICTION = "[data-testid='stMetric']:has-text('Prediction')"
# True while a page point (x, y) is on the canvas itself, not on the toolbar over it.
ON_CANVAS = """([x, y]) => {
  const root = document.querySelector("[data-testid='stBidiComponentIsolated']").shadowRoot;
  return root.elementFromPoint(x, y)?.classList.contains("upper-canvas") ?? false;
}"""

# Installed before the app opens: notes on the page's clock every rerun the page asks for, every
# script run that starts and every one that ends (top-level fields of Streamlit's protobuf messages:
# BackMsg.rerun_script 11, ForwardMsg.new_session 4 and script_finished 6), and the last input
# (a pointer or finger lifted, a key pressed).
WIRE_PROBE = """(() => {
  const wire = {events: [], lastInput: 0};
  const watched = (out, field) => (out ? field === 11 : field === 4 || field === 6);
  const note = (out, data) => {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    let at = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do { byte = bytes[at++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte & 0x80);
      return value;
    };
    while (bytes !== null && at < bytes.length) {
      const tag = varint(), field = Math.floor(tag / 8), type = tag % 8;
      if (![0, 1, 2, 5].includes(type)) break;  // groups: Streamlit's messages have none
      const value = type === 0 ? varint() : null;  // script_finished's status is a number
      // The length goes into a constant first: `at += varint()` would add it to `at` as it was before.
      const skipped = type === 2 ? varint() : type === 1 ? 8 : type === 5 ? 4 : 0;
      at += skipped;
      if (watched(out, field)) wire.events.push({t: performance.now(), out, field, value});
    }
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!this.__wireWatched) {
      this.__wireWatched = true;
      this.addEventListener("message", (event) => note(false, event.data));
    }
    note(true, data);
    return send.call(this, data);
  };
  for (const type of ["pointerup", "touchend", "keydown"]) {
    window.addEventListener(type, () => { wire.lastInput = performance.now(); }, true);
  }
  window.__wire = wire;
})();"""
# True once the last rerun asked for since the last input has run to its end: a script run that
# started after that request has finished successfully. A run from an earlier stroke does not count.
SETTLED = """() => {
  const {events, lastInput} = window.__wire;
  const asked = events.filter((event) => event.out && event.t >= lastInput);
  if (asked.length === 0) return false;
  const answers = events.filter((event) => !event.out && event.t > asked[asked.length - 1].t);
  const started = answers.findIndex((event) => event.field === 4);
  return started >= 0 && answers.slice(started).some((event) => event.field === 6 && event.value === 0);
}"""


# ---- The drawings: real test digits, drawn again with one pen -------------------------------------


@dataclass(frozen=True, eq=False)
class Case:
    """One digit to draw: which test digit, its pen strokes on the canvas and the pen's width."""

    label: int
    index: int  # in the bundled sample's test set
    brush: int  # canvas px, as the Brush size slider sets it
    strokes: tuple[np.ndarray, ...]  # each (k, 2) float32 canvas (x, y) points, in drawing order


def thinned(stroke: np.ndarray) -> np.ndarray:
    """Every k-th point of a (n, 2) stroke, about MAX_POINTS in all, its last point kept."""
    every = -(-len(stroke) // MAX_POINTS)  # ceil(n / MAX_POINTS)
    kept = stroke[::every]
    return kept if (len(stroke) - 1) % every == 0 else np.vstack([kept, stroke[-1:]])


def placed_strokes(digit: np.ndarray, layout: Layout, seed: int) -> tuple[np.ndarray, ...]:
    """A digit's pen strokes (thinned) at the layout's size and place on the canvas.

    Args:
        digit: (28, 28) uint8, white ink on black.
        layout: (brush, size, down, across), see MOUSE_LAYOUTS.
        seed: the shaky hand's wobble follows it.

    Returns:
        Strokes, each (k, 2) float32 canvas (x, y) points.
    """
    from mnist_mlp import pen

    brush, size, down, across = layout
    if size < LEGIBLE_SHARE * brush:
        raise ValueError(f"Expected a drawing at least {LEGIBLE_SHARE} brushes wide. Received: {layout}.")
    drawn = pen.draw(digit, brush=brush, size=size, top=MARGIN, left=MARGIN, shake=SHAKE, seed=seed)
    strokes = [thinned(stroke) for stroke in drawn.strokes]
    points = np.concatenate(strokes)
    low, high = points.min(axis=0) - brush / 2, points.max(axis=0) + brush / 2  # the ink's (x, y) box
    room = CANVAS_PIXELS - 2 * MARGIN - (high - low)  # (2,) px to spare across and down
    if room.min() < 0:
        raise ValueError(f"Expected a drawing that fits inside the canvas's margins. Received: {layout}.")
    offset = MARGIN + np.array([across, down]) * room - low
    return tuple((stroke + offset).astype(np.float32) for stroke in strokes)


def library_reading(model, strokes: tuple[np.ndarray, ...], brush: int) -> int:
    """What the library reads for these strokes: rendered as the canvas would, prepared as the page does."""
    from mnist_mlp import model as models
    from mnist_mlp import pen, preprocess

    prepared = preprocess.to_mnist(pen.render(list(strokes), brush))  # (28, 28) float32 in [0, 1]
    return -1 if prepared is None else int(models.predict(model, prepared[None])[0].argmax())


def starts_under_toolbar(strokes: tuple[np.ndarray, ...]) -> bool:
    """Whether a stroke starts where the canvas's hidden toolbar lies (see TOOLBAR_ZONE)."""
    return any(stroke[0, 0] >= TOOLBAR_ZONE[0] and stroke[0, 1] <= TOOLBAR_ZONE[1] for stroke in strokes)


def choose_case(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    label: int,
    layout: Layout,
    used: set[int],
) -> Case:
    """The first test digit of `label`, not in `used`, whose drawing in `layout` the library reads right.

    Args:
        model: the keras.Model the app serves.
        images, labels: (n, 28, 28) uint8 test digits, white ink on black, and their (n,) labels.
    """
    for index in np.flatnonzero(labels == label):
        if int(index) in used or images[index].max() < 128:  # too faint to trace
            continue
        strokes = placed_strokes(images[index], layout, seed=int(index))
        if library_reading(model, strokes, layout[0]) == label:
            return Case(label, int(index), layout[0], strokes)
    raise AssertionError(f"the library reads no test digit {label} drawn as {layout} as a {label}")


@pytest.fixture(scope="module")
def cases(e2e_store) -> dict[str, list[Case]]:
    """The drawings, one per digit for the mouse and another for touch, plus one for the phone.

    Chosen with the model the app serves, so they stay a fair test when a better model is shipped.
    """
    from mnist_mlp import data, store

    model = store.load(store.DEFAULT_MODEL, e2e_store).model
    test = data.load("mnist", data.SAMPLE_DIR / data.SAMPLE_FILES["mnist"])
    used: set[int] = set()
    chosen: dict[str, list[Case]] = {}
    plans = {"mouse": MOUSE_LAYOUTS, "touch": TOUCH_LAYOUTS, "phone": [PHONE_LAYOUT]}
    for method, layouts in plans.items():
        labels = [PHONE_DIGIT] if method == "phone" else range(10)
        chosen[method] = [
            choose_case(model, test.x_test, test.y_test, label, layout, used)
            for label, layout in zip(labels, layouts, strict=True)
        ]
        used |= {case.index for case in chosen[method]}
    return chosen


# ---- Driving the Draw page -----------------------------------------------------------------------

PointerPath = list[tuple[float, float]]  # page CSS px: every point the pointer passes through, in order
Drawer = Callable[[tuple[np.ndarray, ...]], None]  # draws canvas strokes on the page it was made for


def settle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the rerun the last input asked for has run to its end, and the app is idle again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(SETTLED, timeout=timeout_ms, polling=50)
    except PlaywrightTimeout as err:
        seconds = timeout_ms / 1000
        raise AssertionError(
            f"no script run answered the last input within {seconds:.0f} s: nothing drawn, or a stuck app"
        ) from err
    wait_for_idle(page, timeout_ms)


def open_draw_page(page, app_url: str) -> None:
    """Open the Draw page with the wire probe installed, and check that it shows one empty canvas."""
    page.add_init_script(WIRE_PROBE)
    open_page(page, app_url, "draw")
    page.locator(CANVAS).wait_for(timeout=60_000)  # the component mounts after the script has run
    assert_no_exception(page)
    assert page.locator(CANVAS).count() == 1
    assert page.locator(PREDICTION).count() == 0


def slider_keys(current: int, target: int, low: int, high: int) -> list[str]:
    """The fewest key presses that move a slider from `current` to `target`: arrows, after Home or End."""

    def arrows(start: int) -> list[str]:
        return ["ArrowRight" if target > start else "ArrowLeft"] * abs(target - start)

    return min([arrows(current), ["Home", *arrows(low)], ["End", *arrows(high)]], key=len)


def set_brush(page, brush: int) -> None:
    """Move the Brush size slider to `brush` with the keyboard, and wait for the page to use it."""
    from playwright.sync_api import expect

    thumb = page.get_by_role("slider", name="Brush size")
    current = int(thumb.input_value())
    low, high = (int(thumb.get_attribute(bound)) for bound in ("min", "max"))
    if current == brush:
        return
    thumb.focus()
    for key in slider_keys(current, brush, low, high):
        page.keyboard.press(key)  # each press may rerun the app; settle waits for the last one
    expect(thumb).to_have_value(str(brush))
    settle(page)


def page_paths(page, strokes: tuple[np.ndarray, ...]) -> list[PointerPath]:
    """Canvas strokes as page points on the canvas where it lies now, STEPS moves between two points."""
    canvas = page.locator(CANVAS)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = np.array([box["width"], box["height"]]) / CANVAS_PIXELS
    origin = np.array([box["x"], box["y"]])
    fractions = np.arange(1, STEPS + 1)[None, :, None] / STEPS  # (1, STEPS, 1) along each segment
    paths = []
    for stroke in strokes:
        between = stroke[:-1, None] + (stroke[1:] - stroke[:-1])[:, None] * fractions  # (k-1, STEPS, 2)
        points = np.vstack([stroke[:1], between.reshape(-1, 2)]) * scale + origin  # (1 + (k-1)*STEPS, 2)
        paths.append([(float(x), float(y)) for x, y in points])
    return paths


def mouse_drawer(page) -> Drawer:
    """Draws strokes with the mouse: in over the canvas, button down, through every point, button up."""

    def draw(strokes: tuple[np.ndarray, ...]) -> None:
        for path in page_paths(page, strokes):
            page.mouse.move(*path[0], steps=STEPS)
            # A hand rests a moment before it presses; meanwhile the canvas's toolbar moves aside.
            page.wait_for_function(ON_CANVAS, arg=list(path[0]), timeout=10_000, polling=50)
            page.mouse.down()
            for x, y in path[1:]:
                page.mouse.move(x, y)
            page.mouse.up()

    return draw


def touch_drawer(page) -> Drawer:
    """Draws strokes with one finger: real touch events, sent through the DevTools protocol."""
    devtools = page.context.new_cdp_session(page)

    def touch(kind: str, points: PointerPath) -> None:
        touch_points = [{"x": x, "y": y} for x, y in points]
        devtools.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})

    def draw(strokes: tuple[np.ndarray, ...]) -> None:
        for path in page_paths(page, strokes):
            touch("touchStart", path[:1])
            for point in path[1:]:
                touch("touchMove", [point])
            touch("touchEnd", [])  # no fingers left on the screen

    return draw


def drawn_reading(page, case: Case, draw: Drawer) -> str:
    """Set the case's brush, draw its strokes, and return the Prediction the page shows for them."""
    set_brush(page, case.brush)
    draw(case.strokes)
    settle(page)
    assert_no_exception(page)
    return page.locator(PREDICTION).locator("[data-testid='stMetricValue']").inner_text().strip()


def clear(page) -> None:
    """Press Clear and wait until the prediction has gone with the drawing."""
    page.locator("[data-testid='stButton'] button").filter(has_text="Clear").click()
    page.locator(PREDICTION).wait_for(state="detached", timeout=30_000)
    wait_for_idle(page)
    page.locator(CANVAS).wait_for(timeout=30_000)  # the new, empty canvas
    assert page.locator(CANVAS).count() == 1


def readings(page, chosen: list[Case], draw: Drawer) -> dict[str, str]:
    """{digit: what the page read} for each case drawn in turn on one page, cleared in between."""
    read = {}
    for case in chosen:
        read[str(case.label)] = drawn_reading(page, case, draw)
        clear(page)
    return read


def truth(chosen: list[Case]) -> dict[str, str]:
    return {str(case.label): str(case.label) for case in chosen}


def inked(page, points: np.ndarray) -> np.ndarray:
    """(k,) bool: whether the canvas shows ink at each (x, y) canvas point, read from a screenshot."""
    from PIL import Image

    shot = page.locator(CANVAS).screenshot(scale="css")
    gray = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))  # (>= 280, >= 280) uint8
    columns, rows = np.clip(np.rint(points).astype(int), 0, CANVAS_PIXELS - 1).T
    return gray[rows, columns] > 127  # white ink on the black canvas


@contextlib.contextmanager
def draw_page_in(browser, app_url: str, screen: dict) -> Iterator:
    """The Draw page in a browser context of its own (a touch screen, a phone), closed afterwards."""
    context = watch_runs(browser.new_context(**screen))
    try:
        page = context.new_page()
        open_draw_page(page, app_url)
        yield page
    finally:
        context.close()


def ink_box(case: Case) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a case's ink on the canvas, px."""
    points = np.concatenate(case.strokes)
    (left, top), (right, bottom) = points.min(axis=0) - case.brush / 2, points.max(axis=0) + case.brush / 2
    return float(left), float(top), float(right), float(bottom)


# ---- Tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mouse", "touch"])
def test_the_drawings_vary_in_size_place_and_brush(cases, method):
    chosen = cases[method]
    assert [case.label for case in chosen] == list(range(10))
    assert len({case.brush for case in chosen}) >= 3
    boxes = np.array([ink_box(case) for case in chosen])  # (10, 4) left, top, right, bottom
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    assert sides.min() < 140 and sides.max() > 220
    assert (sides >= LEGIBLE_SHARE * np.array([case.brush for case in chosen]) - 1).all()
    near, far = MARGIN + 2, CANVAS_PIXELS - MARGIN - 2  # px: a drawing past these touches an edge
    corners = set()
    for left, top, right, bottom in boxes:
        horizontal = "left" if left < near else "right" if right > far else ""
        vertical = "top" if top < near else ""
        vertical = vertical or ("bottom" if bottom > far else "")
        corners |= {f"{vertical} {horizontal}"} if vertical and horizontal else set()
    assert corners == {"top left", "top right", "bottom left", "bottom right"}  # not only the middle
    assert any(starts_under_toolbar(case.strokes) for case in chosen)  # where the toolbar lies hidden
    others = "touch" if method == "mouse" else "mouse"
    assert {case.index for case in chosen}.isdisjoint(case.index for case in cases[others])


def test_ten_digits_drawn_with_the_mouse_are_read(page, app_url, cases):
    open_draw_page(page, app_url)
    assert readings(page, cases["mouse"], mouse_drawer(page)) == truth(cases["mouse"])


def test_ten_digits_drawn_by_touch_are_read(browser, app_url, cases):
    with draw_page_in(browser, app_url, SCREENS["touch"]) as page:
        assert readings(page, cases["touch"], touch_drawer(page)) == truth(cases["touch"])


def test_on_a_phone_the_canvas_fits_and_a_digit_drawn_by_touch_is_read(browser, app_url, cases):
    with draw_page_in(browser, app_url, SCREENS["phone"]) as page:
        box = page.locator(CANVAS).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["width"] == pytest.approx(CANVAS_PIXELS, abs=1)  # whole, not squeezed
        (case,) = cases["phone"]
        assert drawn_reading(page, case, touch_drawer(page)) == str(case.label)
        screenshot(page, "draw-phone")


@pytest.mark.parametrize("method", ["mouse", "touch"])
def test_a_stroke_may_start_in_the_top_right_corner(browser, app_url, method):
    with draw_page_in(browser, app_url, SCREENS[method]) as page:
        drawer = mouse_drawer(page) if method == "mouse" else touch_drawer(page)
        drawer((CORNER_STROKE,))
        assert inked(page, CORNER_STROKE).all()


def test_on_a_phone_a_tap_in_the_top_right_corner_keeps_the_drawing(browser, app_url, cases):
    (case,) = cases["phone"]
    with draw_page_in(browser, app_url, SCREENS["phone"]) as page:
        drawn_reading(page, case, touch_drawer(page))
        box = page.locator(CANVAS).bounding_box()
        x, y = CORNER_TAP
        page.touchscreen.tap(box["x"] + x, box["y"] + y)  # a dot where the canvas shows nothing else
        wait_for_idle(page)  # the dot's run: a reset, were one pressed, would clear the canvas in it
        assert inked(page, np.concatenate(case.strokes)).mean() > 0.9
        assert page.locator(PREDICTION).count() == 1
