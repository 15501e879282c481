"""Reading and writing images: clear errors, any path, any depth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.images import read_image, to_float_bgr, write_image


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        read_image(tmp_path / "nope.jpg")


def test_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="folder"):
        read_image(tmp_path)


@pytest.mark.parametrize("content", [b"", b"this is not a picture", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_unreadable_files_are_value_errors_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="broken.png"):
        read_image(path)


def test_non_ascii_paths_round_trip(tmp_path):
    img = np.arange(12 * 7, dtype=np.uint8).reshape(12, 7)
    path = tmp_path / "Фото ümlaut 写真" / "grand-mère.png"
    write_image(path, img)
    np.testing.assert_array_equal(read_image(path), img)


def test_sixteen_bit_stays_sixteen_bit(tmp_path):
    img = (np.arange(20 * 30, dtype=np.uint16) * 100).reshape(20, 30)
    path = write_image(tmp_path / "deep.png", img)
    back = read_image(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, img)


def test_alpha_is_dropped_on_reading(tmp_path):
    bgra = np.zeros((5, 6, 4), np.uint8)
    bgra[..., 2] = 200
    bgra[..., 3] = 128
    back = read_image(write_image(tmp_path / "a.png", bgra))
    assert back.shape == (5, 6, 3) and back[0, 0, 2] == 200


def test_write_is_atomic_and_refuses_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match=".xyz"):
        write_image(tmp_path / "out.xyz", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []
    write_image(tmp_path / "new" / "deep" / "out.jpg", np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in (tmp_path / "new" / "deep").iterdir()] == ["out.jpg"]


def test_to_float_bgr_ranges():
    gray16 = np.array([[0, 65535]], np.uint16)
    np.testing.assert_allclose(to_float_bgr(gray16)[0, :, 0], [0, 1])
    assert to_float_bgr(np.full((2, 2), 2.0))[0, 0, 0] == 1.0  # float is clipped to [0, 1]
    bgr = np.dstack([np.full((2, 2), v, np.uint8) for v in (10, 20, 30)])
    np.testing.assert_allclose(to_float_bgr(bgr)[0, 0], np.array([10, 20, 30]) / 255, rtol=1e-6)


def test_uint8_lab_pitfall_is_avoided():
    """Float input gives L 0..100; uint8 input would give 0..255 (the classic bug)."""
    white = np.full((1, 1), 255, np.uint8)
    from helpers import lightness

    assert lightness(white)[0, 0] == pytest.approx(100, abs=0.01)
    assert cv2.cvtColor(cv2.cvtColor(white, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2Lab)[0, 0, 0] == 255
