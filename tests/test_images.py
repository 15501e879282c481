"""Reading and writing images: clear errors, any path, any depth; arrays checked before any maths."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers.common.images import check_image, read_image, to_float_bgr, write_image


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


def test_transparent_parts_are_read_over_white(tmp_path):
    """Not the colour hidden under the transparency (often black), but what a viewer shows."""
    bgra = np.zeros((5, 6, 4), np.uint8)
    bgra[..., 2] = 200
    bgra[..., 3] = 128
    bgra[0, 0] = (0, 0, 0, 0)
    back = read_image(write_image(tmp_path / "a.png", bgra))
    assert back.shape == (5, 6, 3)
    assert (back[0, 0] == 255).all()
    np.testing.assert_array_equal(back[1, 1], [127, 127, 227])  # 200 red at half opacity over white


def test_write_is_atomic_and_refuses_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match=".xyz"):
        write_image(tmp_path / "out.xyz", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []
    write_image(tmp_path / "new" / "deep" / "out.jpg", np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in (tmp_path / "new" / "deep").iterdir()] == ["out.jpg"]


def test_to_float_bgr_ranges():
    gray16 = np.array([[0, 65535]], np.uint16)
    np.testing.assert_allclose(to_float_bgr(gray16)[0, :, 0], [0, 1])
    bgr = np.dstack([np.full((2, 2), v, np.uint8) for v in (10, 20, 30)])
    np.testing.assert_allclose(to_float_bgr(bgr)[0, 0], np.array([10, 20, 30]) / 255, rtol=1e-6)
    # rounding errors just outside [0, 1] are clipped, not refused
    np.testing.assert_allclose(to_float_bgr(np.array([[1 + 1e-7, -1e-7]]))[0, :, 0], [1, 0])


def test_bgra_arrays_are_shown_over_white():
    bgra = np.zeros((1, 2, 4), np.uint8)
    bgra[0, 1] = (0, 0, 0, 255)
    np.testing.assert_allclose(to_float_bgr(bgra)[0], [[1, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((4, 4), 200.0), r"values in \[0, 1\]; this one holds 200\.\.200\. If its values are 0\.\.255, "
                                 r"divide by 255"),
        (np.full((4, 4), 40000.0, np.float32), r"holds 4e\+04\.\.4e\+04\. If its values are 0\.\.65535, divide by "
                                               r"65535"),
        (np.linspace(-1, 1, 16).reshape(4, 4), r"holds -1\.\.1\. To cut off values just outside, use np\.clip"),
        (np.array([[0.5, np.nan], [np.inf, -np.inf]]), r"1 NaN and 2 infinite values"),
        (np.array([[0, 128, 255]]), r"dtype int64.*values are 0\.\.255: use image\.astype\(np\.uint8\)"),
        (np.array([[0, 4000]], np.int32), r"dtype int32.*use image\.astype\(np\.uint16\)"),
        (np.ones((3, 3), bool), r"dtype bool.*A mask\?"),
        (np.zeros((3, 3), np.complex64), r"dtype complex64; use uint8 \(0\.\.255\), uint16 \(0\.\.65535\) or "
                                         r"float in \[0, 1\]"),
        (np.zeros((3, 40, 50), np.uint8), r"shape \(3, 40, 50\)\. It looks channels-first; use "
                                          r"image\.transpose\(1, 2, 0\) to get \(40, 50, 3\)"),
        (np.zeros((40, 50, 2), np.uint8), r"shape \(40, 50, 2\)\. Two channels could be gray \+ alpha"),
        (np.zeros((2, 40, 50, 3), np.uint8), r"shape \(2, 40, 50, 3\)\. For several images, pass a list"),
        (np.zeros(50, np.uint8), r"shape \(50,\)"),
        (np.zeros((0, 50), np.uint8), r"shape \(0, 50\)\. It has no pixels"),
        (np.zeros((40, 50, 5), np.uint8), r"gray \(H, W\), BGR \(H, W, 3\) or BGRA \(H, W, 4\) image, got an "
                                          r"array of shape \(40, 50, 5\)"),
    ],
    ids=["float 0..255", "float 0..65535", "negative", "nan and inf", "int64", "int32 16-bit", "bool", "complex",
         "channels first", "two channels", "batch", "1-D", "empty", "five channels"],
)
def test_bad_arrays_say_what_was_found_and_what_is_accepted(array, expected):
    with pytest.raises(ValueError, match=expected):
        to_float_bgr(array)
    with pytest.raises(ValueError, match=expected):
        check_image(array)


def test_uint8_lab_pitfall_is_avoided():
    """Float input gives L 0..100; uint8 input would give 0..255 (the classic bug)."""
    white = np.full((1, 1), 255, np.uint8)
    from helpers import lightness

    assert lightness(white)[0, 0] == pytest.approx(100, abs=0.01)
    assert cv2.cvtColor(cv2.cvtColor(white, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2Lab)[0, 0, 0] == 255
