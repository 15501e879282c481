"""Image files as users have them: transparency, animations, pages, rotations, damage (helpers/common/image_files.py).

Every hostile file is made here with Pillow, and the tests look at the pixels, frames, frame
times and alpha that come back.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageSequence

from helpers.common.image_files import Picture, open_image_file, over_white
from helpers.common.image_output import SOFTWARE, OutputFolderError, check_output_folder, is_result, write_pictures
from helpers.common.images import read_image, write_image

# --------------------------------------------------------------------------- hostile files


def rgba_with_black_hidden_pixels() -> np.ndarray:
    """20 x 30 RGBA: a gray 120 square, opaque; around it alpha 0 over BLACK, as many editors save it;
    a half-transparent band (alpha 128) of black at the bottom."""
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[4:14, 5:25] = (120, 120, 120, 255)
    rgba[16:, :] = (0, 0, 0, 128)
    return rgba


def save_frames(path, frames, **options):
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=len(images) > 1, append_images=images[1:], **options)
    return path


def gray_frames(values=(30, 120, 220), size=(20, 30)):
    return [np.full(size, v, np.uint8) for v in values]


# --------------------------------------------------------------------------- transparency


def test_rgba_png_shows_hidden_pixels_as_viewers_do_over_white(tmp_path):
    path = tmp_path / "logo.png"
    Image.fromarray(rgba_with_black_hidden_pixels(), "RGBA").save(path)
    img = read_image(path)
    assert img.shape == (20, 30, 3)
    assert (img[0, 0] == 255).all(), "a fully transparent pixel must be white, not the black hidden under it"
    assert (img[8, 10] == 120).all(), "opaque pixels are unchanged"
    assert (img[18, 3] == 127).all(), "half-transparent black over white is mid-gray"
    [picture] = open_image_file(path).pictures()
    np.testing.assert_array_equal(picture.alpha, rgba_with_black_hidden_pixels()[..., 3])


def test_gray_alpha_png_stays_gray_with_its_alpha(tmp_path):
    la = np.zeros((10, 12, 2), np.uint8)
    la[2:8, 2:10] = (90, 255)
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)
    [picture] = open_image_file(path).pictures()
    assert picture.image.shape == (10, 12)
    assert picture.image[0, 0] == 255 and picture.image[5, 5] == 90
    np.testing.assert_array_equal(picture.alpha, la[..., 1])


def test_palette_png_with_a_transparent_colour(tmp_path):
    index = np.zeros((10, 12), np.uint8)
    index[3:7, 3:9] = 1
    image = Image.fromarray(index, "P")
    image.putpalette([0, 0, 0, 200, 200, 200])
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    img = read_image(path)
    assert (img[0, 0] == 255).all() and (img[5, 5] == 200).all()


def test_opaque_alpha_channel_is_no_transparency(tmp_path):
    rgba = np.full((4, 5, 4), 255, np.uint8)
    path = tmp_path / "opaque.png"
    Image.fromarray(rgba, "RGBA").save(path)
    [picture] = open_image_file(path).pictures()
    assert picture.alpha is None


def test_over_white_maths():
    image = np.array([[0, 100, 200]], np.uint8)
    alpha = np.array([[0, 255, 128]], np.uint8)
    np.testing.assert_array_equal(over_white(image, alpha), [[255, 100, 227]])
    gray16 = np.array([[0]], np.uint16)
    assert over_white(gray16, np.array([[0]], np.uint8))[0, 0] == 65535
    np.testing.assert_allclose(over_white(np.zeros((1, 1, 3), np.float32), np.array([[0.25]], np.float32)), 0.75)


# --------------------------------------------------------------------------- pictures of all kinds


def test_exif_rotated_jpeg_is_read_upright(tmp_path):
    stored = np.zeros((20, 40), np.uint8)
    stored[:, :10] = 255  # a white band on the left of the stored picture
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as phones write it
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)
    img = read_image(path)
    assert img.shape == (40, 20)
    assert img[:8].mean() > 240 and img[12:].mean() < 15  # the band is now on top


def test_cmyk_jpeg_is_read_in_its_colours(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:] = (200, 100, 50)
    path = tmp_path / "print.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    img = read_image(path)
    assert img.shape == (16, 16, 3)
    np.testing.assert_allclose(img[8, 8], (50, 100, 200), atol=4)  # BGR


def test_sixteen_bit_gray_png_and_tiff_stay_sixteen_bit(tmp_path):
    gray16 = (np.arange(20 * 30, dtype=np.uint16) * 100).reshape(20, 30)
    for name in ("deep.png", "deep.tif"):
        cv2.imwrite(str(tmp_path / name), gray16)
        back = read_image(tmp_path / name)
        assert back.dtype == np.uint16
        np.testing.assert_array_equal(back, gray16)


def test_animated_gif_frames_and_times(tmp_path):
    path = save_frames(tmp_path / "anim.gif", gray_frames(), duration=[100, 250, 700], loop=0)
    source = open_image_file(path)
    assert (source.format, source.count, source.loop) == ("GIF", 3, 0)
    pictures = list(source.pictures())
    assert [p.duration for p in pictures] == [100, 250, 700]
    assert [int(p.image.mean()) for p in pictures] == [30, 120, 220]
    assert read_image(path).mean() == pytest.approx(30, abs=1)  # read_image: the first picture


def test_multi_page_tiff_pages(tmp_path):
    pages = [np.full((20, 30), 40, np.uint8), np.full((25, 35), 160, np.uint8)]
    path = save_frames(tmp_path / "scan.tif", pages)
    source = open_image_file(path)
    assert (source.format, source.count) == ("TIFF", 2)
    assert [p.image.shape for p in source.pictures()] == [(20, 30), (25, 35)]


def test_mpo_jpeg_of_a_phone_holds_two_pictures(tmp_path):
    first, second = np.full((10, 10, 3), 100, np.uint8), np.full((10, 10, 3), 200, np.uint8)
    path = tmp_path / "phone.jpg"
    Image.fromarray(first).save(path, format="MPO", save_all=True, append_images=[Image.fromarray(second)])
    assert open_image_file(path).count == 2
    assert read_image(path).mean() == pytest.approx(100, abs=2)


def test_bilevel_scan_is_read_as_black_and_white(tmp_path):
    path = tmp_path / "fax.png"
    bits = np.zeros((8, 8), bool)
    bits[:, 4:] = True
    Image.fromarray(bits).save(path)
    img = read_image(path)
    assert img.dtype == np.uint8 and img[0, 0] == 0 and img[0, 7] == 255


@pytest.mark.parametrize(("mode", "value", "expected"), [("F", 7.5, "32-bit floating-point pixels outside 0..1"),
                                                          ("I", 70000, "32-bit gray values beyond 0..65535")])
def test_scientific_tiffs_are_refused_with_a_reason(tmp_path, mode, value, expected):
    path = tmp_path / "science.tif"
    Image.new(mode, (8, 8), value).save(path)
    with pytest.raises(ValueError, match=rf"science\.tif holds {expected}.*save it as"):
        read_image(path)


def test_floating_point_tiffs_in_0_to_1_are_read_as_16_bit_gray(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8), "F").save(path)
    img = read_image(path)
    assert img.dtype == np.uint16 and img[0, 0] == 0 and img[-1, -1] == 65535
    assert img.ravel()[32] == round(32 / 63 * 65535)


def test_32_bit_gray_within_16_bits_is_read(tmp_path):
    path = tmp_path / "gray32.tif"
    Image.new("I", (8, 8), 40000).save(path)
    img = read_image(path)
    assert img.dtype == np.uint16 and img[0, 0] == 40000


def test_scan_resolution_is_read_and_written(tmp_path):
    path = tmp_path / "scan.jpg"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, dpi=(600, 600))
    source = open_image_file(path)
    assert source.dpi == (600, 600)
    for suffix in (".jpg", ".png", ".tif"):
        out = write_pictures(tmp_path / f"out{suffix}", coloured([1]), dpi=source.dpi)
        assert tuple(round(d) for d in Image.open(out).info["dpi"]) == (600, 600)


# --------------------------------------------------------------------------- damaged files


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root may read any file")
def test_unreadable_file_says_so(tmp_path):
    path = tmp_path / "private.jpg"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    path.chmod(0)
    with pytest.raises(PermissionError, match=r"Cannot read .*private\.jpg: you have no permission"):
        read_image(path)


def test_unreadable_file_as_the_system_reports_it(tmp_path, monkeypatch):
    path = tmp_path / "private.jpg"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(PermissionError, match=r"Cannot read .*private\.jpg: you have no permission"):
        read_image(path)


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_truncated_files_are_refused_naming_the_file(tmp_path, suffix):
    """OpenCV decodes half a JPEG as a picture with a gray bottom: a silently wrong picture."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    good = tmp_path / f"good{suffix}"
    Image.fromarray(noise).save(good)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(truncated(good.read_bytes()))
    with pytest.raises(ValueError, match=rf"cut\{suffix}.*(damaged|truncated|not an image)"):
        read_image(path)


def test_truncated_animation_names_the_picture(tmp_path):
    frames = [np.random.default_rng(i).integers(0, 256, (40, 40), dtype=np.uint8) for i in range(4)]
    path = save_frames(tmp_path / "anim.gif", frames, duration=100)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ValueError, match=r"anim\.gif.*(damaged|truncated)"):
        list(open_image_file(path).pictures())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that promises width x height gray pixels and holds none (a few dozen bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


def test_a_picture_too_large_to_colourise_is_refused_before_decoding(tmp_path):
    path = tmp_path / "poster.png"
    path.write_bytes(png_header_only(20000, 20000))  # 400 megapixels: about 10 GB of working memory
    with pytest.raises(ValueError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path} has more than 179 megapixels: too large to colourise safely")
    assert "damaged" not in message and "decompression bomb" not in message


@pytest.mark.parametrize(("content", "expected"), [(b"", "empty"), (b"Dear diary, today I scanned", "not an image"),
                                                   (b"<html><body>404</body></html>", "not an image")])
def test_files_that_are_no_pictures(tmp_path, content, expected):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"photo\.jpg.*{expected}"):
        read_image(path)


# --------------------------------------------------------------------------- writing


def coloured(values, alpha=None, durations=None):
    durations = durations or [None] * len(values)
    return [Picture(np.dstack([np.full((12, 16), v, np.uint8), np.full((12, 16), 255 - v, np.uint8),
                               np.full((12, 16), 80, np.uint8)]), alpha, d) for v, d in zip(values, durations)]


@pytest.mark.parametrize(("suffix", "times"), [(".gif", [100, 250, 700]), (".webp", [100, 250, 700]),
                                               (".png", [100, 250, 700]), (".tif", [None] * 3)])
def test_several_pictures_become_an_animation_or_pages(tmp_path, suffix, times):
    path = write_pictures(tmp_path / f"out{suffix}", coloured([30, 120, 220], durations=[100, 250, 700]), loop=0)
    source = open_image_file(path)
    assert source.count == 3
    back = list(source.pictures())
    assert [p.duration for p in back] == times
    tolerance = 8 if suffix == ".gif" else 0  # a GIF holds 256 colours
    for value, picture in zip([30, 120, 220], back):
        np.testing.assert_allclose(picture.image[6, 8], (value, 255 - value, 80), atol=tolerance)


def test_an_animation_without_loop_plays_once(tmp_path):
    path = write_pictures(tmp_path / "once.gif", coloured([30, 120]), loop=None)
    assert "loop" not in Image.open(path).info


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif", ".gif"])
def test_transparency_is_kept_and_looks_the_same_over_white(tmp_path, suffix):
    alpha = np.zeros((12, 16), np.uint8)
    alpha[:, 4:] = 255
    alpha[:, 10:] = 200  # half-transparent: the stored colour is darker, the look over white the same
    [picture] = coloured([120], alpha=alpha)
    shown = over_white(picture.image, alpha)
    path = write_pictures(tmp_path / f"out{suffix}", [Picture(shown, alpha)])
    [back] = open_image_file(path).pictures()
    expected_alpha = np.where(alpha >= 128, 255, 0) if suffix == ".gif" else alpha  # GIF: all or nothing
    np.testing.assert_array_equal(back.alpha, expected_alpha)
    tolerance = 8 if suffix == ".gif" else 2
    visible = expected_alpha > 0
    assert np.abs(back.image.astype(int) - shown)[visible].max() <= tolerance


def test_gif_transparent_parts_stay_transparent_in_later_frames(tmp_path):
    """Without clearing each frame, a GIF shows the previous frame through the transparent pixels."""
    frames = []
    for left in (0, 15):
        image = np.full((10, 30, 3), 255, np.uint8)
        alpha = np.zeros((10, 30), np.uint8)
        image[2:8, left:left + 10] = (60, 60, 200)
        alpha[2:8, left:left + 10] = 255
        frames.append(Picture(image, alpha, 100))
    path = write_pictures(tmp_path / "moving.gif", frames, loop=0)
    second = np.array([np.array(f.convert("RGBA")) for f in ImageSequence.Iterator(Image.open(path))])[1]
    assert second[5, 3, 3] == 0, "the square of frame 1 must not show through frame 2"
    assert second[5, 20, 3] == 255


def test_formats_with_one_picture_refuse_several(tmp_path):
    with pytest.raises(ValueError, match="JPEG files hold one picture"):
        write_pictures(tmp_path / "x.jpg", coloured([1, 2]))
    with pytest.raises(ValueError, match="'.xyz'"):
        write_pictures(tmp_path / "x.xyz", coloured([1]))
    assert list(tmp_path.iterdir()) == []


def test_write_error_names_the_file_not_its_temporary(tmp_path):
    (tmp_path / "taken").write_text("a file where a folder should be")
    with pytest.raises(OSError) as info:
        write_pictures(tmp_path / "taken" / "out.png", coloured([1]))
    assert str(tmp_path / "taken" / "out.png") in str(info.value) and ".part" not in str(info.value)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        paths = [write_pictures(tmp_path / "new" / "one.jpg", coloured([1])),
                 write_pictures(tmp_path / "new" / "anim.gif", coloured([1, 2], durations=[50, 50])),
                 write_pictures(tmp_path / "new" / "pages.tif", coloured([1, 2])),
                 write_image(tmp_path / "new" / "cv.png", np.zeros((4, 4), np.uint8))]
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in paths} == {oct(mode)}
    assert oct((tmp_path / "new").stat().st_mode & 0o777) == oct(0o777 & ~umask)


# --------------------------------------------------------------------------- results of this tool


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif", ".gif"])
def test_results_carry_the_mark_and_other_files_do_not(tmp_path, suffix):
    ours = write_pictures(tmp_path / f"a_color{suffix}", coloured([50]))
    assert is_result(ours)
    if suffix != ".jpg":  # animations and pages carry it too
        assert is_result(write_pictures(tmp_path / f"anim_color{suffix}", coloured([50, 90], durations=[10, 10])))
    assert is_result(write_pictures(tmp_path / f"a_color_2{suffix}", coloured([50])))
    theirs = tmp_path / f"b_color{suffix}"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(theirs)  # named like a result, made elsewhere
    assert not is_result(theirs)
    renamed = tmp_path / f"holiday{suffix}"
    renamed.write_bytes(ours.read_bytes())
    assert not is_result(renamed), "only files named <name>_color... count as results"


def test_software_mark_is_visible_in_the_file(tmp_path):
    path = write_pictures(tmp_path / "a_color.jpg", coloured([50]))
    assert Image.open(path).getexif()[0x0131] == SOFTWARE


def test_bmp_results_are_recognised_by_their_source_beside_them(tmp_path):
    result = write_pictures(tmp_path / "scan_color.bmp", coloured([50]))
    assert not is_result(result)
    cv2.imwrite(str(tmp_path / "scan.bmp"), np.zeros((4, 4), np.uint8))
    assert is_result(result)


def test_damaged_file_named_like_a_result_is_not_one(tmp_path):
    (tmp_path / "x_color.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    assert not is_result(tmp_path / "x_color.png")


# --------------------------------------------------------------------------- output folders


def test_output_folder_that_is_a_file(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(OutputFolderError, match=rf"{tmp_path / 'results'}: it is a file, not a folder"):
        check_output_folder(tmp_path / "results")


def test_output_folder_under_a_file(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(OutputFolderError) as info:
        check_output_folder(tmp_path / "results" / "2024" / "june")
    message = str(info.value)
    assert f"create the folder {tmp_path / 'results' / '2024' / 'june'}" in message
    assert f"{tmp_path / 'results'} is a file" in message


def test_missing_output_folder_is_fine_and_not_created(tmp_path):
    check_output_folder(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []


def test_dangling_link_as_output_folder(tmp_path):
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputFolderError, match="which does not exist"):
        check_output_folder(tmp_path / "out")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_output_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputFolderError, match=rf"{folder}: the folder is read-only"):
            check_output_folder(folder)
        with pytest.raises(OutputFolderError, match=rf"create the folder {folder / 'new'}: {folder} is read-only"):
            check_output_folder(folder / "new")
    finally:
        folder.chmod(0o755)


def test_read_only_output_folder_as_the_system_reports_it(tmp_path, monkeypatch):
    """What a read-only disk (or, for other users, a folder without write permission) looks like:
    os.access says no. Runs as root too, where chmod cannot make a folder read-only."""
    folder = tmp_path / "locked"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if path == folder else real_access(path, mode))
    with pytest.raises(OutputFolderError, match=rf"{folder}: the folder is read-only"):
        check_output_folder(folder)
    with pytest.raises(OutputFolderError, match=rf"{folder} is read-only"):
        check_output_folder(folder / "new" / "deeper")


def test_read_image_bytes_reads_by_content(tmp_path):
    from helpers.common.image_files import read_image_bytes

    rgba = Image.new("RGBA", (40, 30), (0, 0, 0, 0))  # fully transparent, hidden pixels black
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    picture = read_image_bytes(buffer.getvalue(), "photo.jpg")
    assert picture.image.shape == (30, 40, 3) and int(picture.image.min()) == 255  # over white, not black
    assert int(picture.alpha.max()) == 0
    with pytest.raises(ValueError, match="'notes.txt'.*empty"):
        read_image_bytes(b"", "'notes.txt'")
    with pytest.raises(ValueError, match="not an image"):
        read_image_bytes(b"hello, this is text", "notes.txt")
    with pytest.raises(ValueError, match="damaged or truncated"):
        jpeg = io.BytesIO()
        Image.new("L", (64, 64), 128).save(jpeg, "JPEG")
        read_image_bytes(jpeg.getvalue()[:200], "cut.jpg")
