"""Image files as people upload them: odd formats become plain arrays, hostile ones are refused."""

import io

import numpy as np
import pytest
from PIL import Image

from mnist_mlp import images
from tests import hostile
from tests.hostile import encoded


def digit_picture(mode: str = "L") -> Image.Image:
    picture = Image.new("L", (60, 60), 255)
    picture.paste(0, (25, 10, 35, 50))  # a dark "1" on white paper
    return picture.convert(mode)


@pytest.mark.parametrize(
    ("mode", "fmt", "shape"),
    [("L", "PNG", (60, 60, 3)), ("RGB", "JPEG", (60, 60, 3)), ("RGBA", "PNG", (60, 60, 4)),
     ("CMYK", "JPEG", (60, 60, 3)), ("P", "GIF", (60, 60, 3)), ("RGB", "BMP", (60, 60, 3)),
     ("RGB", "WEBP", (60, 60, 3)), ("RGB", "TIFF", (60, 60, 3))],
)  # fmt: skip
def test_common_formats_and_modes_become_uint8_arrays(mode, fmt, shape):
    array = images.read_image(encoded(digit_picture(mode), fmt), label=f"x.{fmt.lower()}")
    assert array.shape == shape and array.dtype == np.uint8
    assert array[30, 30, 0] < 60 and array[5, 5, 0] > 200  # ink stays dark, paper light


def test_sixteen_bit_images_are_scaled_to_eight():
    values = np.full((20, 20), 255, np.uint8)
    values[5:15, 9:11] = 0
    assert Image.open(io.BytesIO(hostile.sixteen_bit(values))).mode.startswith("I")
    array = images.read_image(hostile.sixteen_bit(values))
    assert array.dtype == np.uint8 and array[0, 0, 0] == 255 and array[10, 10, 0] == 0


def test_animation_gives_its_first_frame():
    first, second = digit_picture("P"), Image.new("P", (60, 60), 0)
    data = encoded(first, "GIF", save_all=True, append_images=[second])
    array = images.read_image(data)
    assert array[5, 5, 0] > 200  # the white paper of the first frame, not the black second one


def test_a_one_pixel_image_reads():
    assert images.read_image(encoded(Image.new("L", (1, 1), 0), "PNG")).shape == (1, 1, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello, I am text", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a readable image"),
    ],
)
def test_non_images_are_refused(data, message):
    with pytest.raises(images.ImageError, match=message):
        images.read_image(data, label="thing.png")


def test_decompression_bomb_is_refused_without_decoding():
    bomb = hostile.decompression_bomb()  # tiny file, 36 megapixels
    assert len(bomb) < 100_000
    with pytest.raises(images.ImageError, match=r"too large|decompression bomb"):
        images.read_image(bomb, label="bomb.png")


def test_oversized_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 100)
    path = tmp_path / "big.png"
    path.write_bytes(encoded(digit_picture(), "PNG") + b"\0" * 200)
    with pytest.raises(images.ImageError, match="over the"):
        images.read_image(path)
    with pytest.raises(images.ImageError, match="cannot read the file"):
        images.read_image(tmp_path / "missing.png")
