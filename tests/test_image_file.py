"""One image file colourised (helpers.photo.image_file): what the CLI, the workers, the app and the upload box share."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

import helpers
from helpers.common.image_files import Picture
from helpers.photo.image_file import colorize_image_file, picture_at_most


@pytest.fixture
def cutout(gray_image, tmp_path):
    """A PNG whose top rows are transparent (black underneath) and a band half-transparent."""
    rgba = cv2.cvtColor(gray_image, cv2.COLOR_GRAY2RGBA)
    rgba[:30, :] = (0, 0, 0, 0)
    rgba[30:40, :, 3] = 100
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    return tmp_path / "cutout.png"


def test_a_file_and_its_bytes_give_the_same_pictures_with_their_transparency(net, cutout):
    from_path = colorize_image_file(cutout, net, temperature=0.38)
    from_bytes = colorize_image_file(cutout.read_bytes(), net, temperature=0.38, name="cutout.png")
    [a], [b] = from_path.pictures, from_bytes.pictures
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.alpha, b.alpha)
    assert a.alpha is not None and (a.alpha[:30] == 0).all() and (a.alpha[40:] == 255).all()
    assert from_path.source.format == "PNG" and from_path.masks == []


def test_colours_go_onto_the_pictures_own_lightness_under_transparency(net, tmp_path):
    gray = np.tile(np.linspace(30, 220, 120).astype(np.uint8), (80, 1))
    Image.fromarray(np.dstack([gray, np.full_like(gray, 128)]), "LA").save(tmp_path / "soft.png")
    [picture] = colorize_image_file(tmp_path / "soft.png", net, temperature=0.38).pictures
    assert (picture.alpha == 128).all()
    # kept as viewers show it, over white; taken off white again it has the picture's own lightness
    a = 128 / 255
    straight = np.clip((picture.image.astype(np.float32) - 255 * (1 - a)) / a + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(helpers.lightness(straight) - helpers.lightness(gray)).mean() < 1
    assert helpers.bgr_to_lab(straight)[..., 1:].std() > 1  # and in colour


def test_the_temperature_is_the_callers_not_what_the_net_last_had(net, gray_image, tmp_path):
    cv2.imwrite(str(tmp_path / "photo.png"), gray_image)
    helpers.set_temperature(net, 0.38)
    cool = colorize_image_file(tmp_path / "photo.png", net, temperature=0.38).pictures[0].image
    helpers.set_temperature(net, 1.0)  # as another caller (a widget slider) may have left it
    again = colorize_image_file(tmp_path / "photo.png", net, temperature=0.38).pictures[0].image
    warm = colorize_image_file(tmp_path / "photo.png", net, temperature=1.0).pictures[0].image
    np.testing.assert_array_equal(cool, again)
    assert np.abs(cool.astype(int) - warm).max() > 0


def test_every_frame_of_an_animation_or_only_the_first(net, tmp_path):
    frames = [Image.fromarray(np.full((20, 30), v, np.uint8)) for v in (40, 120, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0)
    every = colorize_image_file(tmp_path / "anim.gif", net, temperature=0.38, keep_all=True)
    first = colorize_image_file(tmp_path / "anim.gif", net, temperature=0.38)
    assert every.source.count == 3 and len(every.pictures) == 3 and len(first.pictures) == 1
    assert [p.duration for p in every.pictures] == [100, 200, 300]
    levels = [helpers.lightness(p.image).mean() for p in every.pictures]
    assert levels == sorted(levels) and levels[2] - levels[0] > 40


def test_large_pictures_shrink_with_their_transparency():
    picture = Picture(np.zeros((400, 300, 3), np.uint8), alpha=np.full((400, 300), 7, np.uint8),
                      under=np.ones((400, 300, 3), np.uint8))
    small = picture_at_most(picture, 30_000)
    assert small.image.shape == (200, 150, 3) and small.alpha.shape == small.under.shape[:2] == (200, 150)
    assert (small.alpha == 7).all() and picture_at_most(picture, 400 * 300) is picture


def test_damaged_bytes_are_named_in_the_error(net):
    jpeg = io.BytesIO()
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(jpeg, format="JPEG")
    with pytest.raises(ValueError, match="notes.txt"):
        colorize_image_file(b"hello, this is text", net, temperature=0.38, name="notes.txt")
    with pytest.raises(ValueError, match="cut.jpg"):
        colorize_image_file(jpeg.getvalue()[:200], net, temperature=0.38, name="cut.jpg")
    with pytest.raises(ValueError, match="empty"):
        colorize_image_file(b"", net, temperature=0.38)
