"""Image files as they really are: transparency, animations and multi-page scans.

A photo on disk is more than one array. A PNG, WebP or TIFF may be partly transparent, and the
hidden pixels under the transparency are often black; a GIF, WebP or PNG may be an animation
with a time for each frame; a TIFF from a document scanner may hold many pages. This module
reads every picture of such a file the way an image viewer shows it (transparent parts over
white) and writes results of the same kind: animations stay animated with their frame times,
pages stay pages, and transparency is kept where the format has it.

Pillow reads and writes the files (OpenCV's reader knows neither frames nor pages in the
OpenCV versions this project supports, and drops transparency); a file Pillow does not know is
tried with OpenCV. Used by ``helpers.common.images.read_image``, the upload box of notebook 02_photo
(``read_image_bytes``) and ``python -m helpers photo``.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
           ".webp": "WEBP", ".gif": "GIF"}
"""File name suffix -> Pillow's name of the format, for the formats this project reads and writes."""
IMAGE_EXTENSIONS = tuple(FORMATS)
SEVERAL_PICTURES = {"GIF", "PNG", "WEBP", "TIFF"}
"""Formats that hold several pictures: animations (GIF, animated PNG and WebP), pages (TIFF)."""
TRANSPARENCY = {"GIF", "PNG", "WEBP", "TIFF"}
"""Formats with transparency (GIF: each pixel fully visible or fully transparent)."""


@dataclass(frozen=True)
class Picture:
    """One picture of an image file: a frame of an animation, a page of a scan, or the only one.

    Attributes
    ----------
    image : (H, W) or (H, W, 3) ndarray, uint8 or uint16
        Gray or BGR. Transparent parts are shown over white, as image viewers show them.
    alpha : (H, W) uint8 ndarray or None
        Opacity, 0 (transparent) .. 255 (opaque); None for a picture without transparency.
    duration : float or None
        How long an animation shows this frame, in milliseconds.
    under : ndarray or None
        For a picture with transparency: its pixels before they were put over white (as ``image``
        otherwise), so that its colours can go onto its own lightness (``photo.colorize.colour_under_alpha``).
    """

    image: np.ndarray
    alpha: np.ndarray | None = None
    duration: float | None = None
    under: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ImageFile:
    """What an image file holds: its format, how many pictures, and whether an animation loops.

    ``pictures()`` reads the pictures one at a time, so a long scan needs memory for one page.
    """

    path: Path
    format: str | None
    """Pillow's name (``"JPEG"``, ``"GIF"``...); None for a file only OpenCV can read."""
    count: int
    loop: int | None = None
    """An animation plays ``loop`` times after the first (0: forever); None: once, or not an animation."""
    dpi: tuple[float, float] | None = None
    """Dots per inch of a scan, so that a result prints at the size of the original."""
    data: bytes | None = field(default=None, repr=False)
    """The file's bytes, for a pipe (``photo <(curl ...)``), which can be read only once; else None."""

    def pictures(self) -> Iterator[Picture]:
        """Each picture in turn.

        Raises
        ------
        ValueError
            A picture cannot be decoded (a damaged or truncated file); the message says which.
        """
        if self.format is None:
            raw = np.fromfile(self.path, dtype=np.uint8) if self.data is None else np.frombuffer(self.data, np.uint8)
            yield Picture(_decode_with_opencv(raw, self.path))
            return
        with open_pillow(self.path if self.data is None else io.BytesIO(self.data), self.path) as im:
            for index in range(self.count):
                yield _picture(im, index, self.count, self.path)


def open_image_file(path: str | os.PathLike) -> ImageFile:
    """Look into an image file (its header, and for an animation each frame's header).

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        The path is a folder or an empty file, or not an image that Pillow or OpenCV can read.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such image file: {path} (working directory: {Path.cwd()})")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file.")
    data = None if stat.S_ISREG(path.stat().st_mode) else _read_once(path)  # a pipe: its bytes, once
    if (len(data) if data is not None else path.stat().st_size) == 0:
        raise ValueError(f"Could not read {path} as an image: the file is empty (0 bytes).")
    return _look_into(path, data)


def open_image_bytes(data: bytes, name: str = "the upload") -> ImageFile:
    """An image file held in memory (an upload), looked into as ``open_image_file`` looks into files.

    Judged by content, never by ``name``, which only names it in messages.

    Example: ``open_image_bytes(Path("coffee.jpg").read_bytes(), "coffee.jpg").count`` is 1.
    """
    if not data:
        raise ValueError(f"Could not read {name} as an image: it is empty (0 bytes).")
    return _look_into(Path(name), data)


def _look_into(path: Path, data: bytes | None) -> ImageFile:
    """The ``ImageFile`` of ``path``, or of ``data`` (its bytes, for a pipe or an upload) when given."""
    try:
        with open_pillow(path if data is None else io.BytesIO(data), path) as im:
            return ImageFile(path, im.format, getattr(im, "n_frames", 1), im.info.get("loop"), im.info.get("dpi"),
                             data)
    except PermissionError:
        raise PermissionError(f"Cannot read {path}: you have no permission to read this file.") from None
    except PictureTooLargeError:
        raise
    except UnidentifiedImageError:
        pass  # perhaps a format only OpenCV knows; _decode_with_opencv raises if not
    except (OSError, EOFError, ValueError, SyntaxError) as exc:
        raise ValueError(f"Could not read {path}: the file is damaged or truncated ({exc}).") from exc
    raw = np.fromfile(path, dtype=np.uint8) if data is None else np.frombuffer(data, np.uint8)
    _decode_with_opencv(raw, path)  # any path, unlike cv2.imread
    return ImageFile(path, None, 1, data=data)


MAX_PIPE_BYTES = 1 << 30
"""Most bytes read from a pipe (a file is never read whole by ``open_image_file``)."""


def _read_once(path: Path) -> bytes:
    """All of a pipe or device named ``path`` (``<(...)``, ``/dev/stdin``): it cannot be read twice."""
    with open(path, "rb") as stream:
        data = stream.read(MAX_PIPE_BYTES + 1)
    if len(data) > MAX_PIPE_BYTES:
        raise ValueError(f"{path} sends more than {MAX_PIPE_BYTES >> 20} MB: not an image file this tool reads.")
    return data


def read_image_bytes(data: bytes, name: str = "the upload") -> Picture:
    """The first picture of an image file held in memory (an upload), read as ``open_image_file`` reads files.

    Judged by content, never by ``name`` (which is only for messages): transparency shown over
    white and kept in ``alpha``, EXIF rotation applied, 16-bit gray kept.

    Raises
    ------
    ValueError
        Empty, damaged, truncated, too large or not an image.
    """
    return next(open_image_bytes(data, name).pictures())


class PictureTooLargeError(ValueError):
    """A picture with more pixels than Pillow opens safely (``2 * Image.MAX_IMAGE_PIXELS``)."""


def open_pillow(source: Path | io.BytesIO, name: str | Path) -> Image.Image:
    """``Image.open`` with a learner's error for pictures too large to colourise safely."""
    with warnings.catch_warnings():  # "possible decompression bomb" is alarming for a large scan
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(source)
        except Image.DecompressionBombError:
            limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
            raise PictureTooLargeError(
                f"{name} has more than {limit:.0f} megapixels: too large to colourise safely on an ordinary "
                "computer. Shrink it first, for example to 10,000 pixels on its longer side.") from None


def _picture(im: Image.Image, index: int, count: int, name: str | Path) -> Picture:
    """Picture ``index`` of an open Pillow image, upright and over white."""
    try:
        im.seek(index)
        frame = ImageOps.exif_transpose(im)  # phones and cameras store the rotation aside
    except (OSError, EOFError, ValueError, SyntaxError) as exc:
        where = f"picture {index + 1} of {count} of " if count > 1 else ""
        raise ValueError(f"Could not read {where}{name}: the file is damaged or truncated ({exc}).") from exc
    image, alpha = _arrays(frame, name)
    if alpha is None:
        return Picture(image, None, im.info.get("duration"))
    return Picture(over_white(image, alpha), alpha, im.info.get("duration"), under=image)


def _decode_with_opencv(data: np.ndarray, name: str | Path) -> np.ndarray:
    # ANYDEPTH keeps 16-bit, ANYCOLOR keeps gray as gray; both apply the EXIF rotation.
    img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR) if data.size else None
    if img is None or img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"Could not read {name} as an image: it is damaged or not an image "
                         f"(this project reads {', '.join(IMAGE_EXTENSIONS)}).")
    return img


def _arrays(frame: Image.Image, path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """A Pillow picture as (gray or BGR array, alpha or None), keeping 16-bit gray as uint16."""
    if frame.mode.startswith("I"):  # 16 or 32-bit integer gray (scanners' 16-bit TIFF and PNG)
        values = np.asarray(frame)
        if values.min() < 0 or values.max() > 65535:
            raise ValueError(f"{path} holds 32-bit gray values beyond 0..65535; save it as 8 or 16-bit.")
        return values.astype(np.uint16), None
    if frame.mode == "F":  # 32-bit floating point: the usual range is 0..1 (0 black, 1 white)
        values = np.asarray(frame)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise ValueError(f"{path} holds 32-bit floating-point pixels outside 0..1 (from {values.min():g} to "
                             f"{values.max():g}), whose meaning is not known; save it as an 8 or 16-bit image.")
        return np.round(values * 65535).astype(np.uint16), None  # 16-bit gray: finer steps than 8-bit
    gray = frame.mode in ("1", "L", "LA", "La")
    transparent = frame.has_transparency_data
    try:
        values = np.asarray(frame.convert(("LA" if gray else "RGBA") if transparent else ("L" if gray else "RGB")))
    except ValueError as exc:  # a kind of pixel Pillow cannot turn into RGB (e.g. Lab TIFF)
        raise ValueError(f"Could not read {path}: its pixels ({frame.mode}) cannot be turned into RGB ({exc}). "
                         "Save it as an RGB or gray image.") from exc
    alpha = None
    if transparent:
        values, alpha = values[..., :-1], values[..., -1]
        if alpha.min() == 255:  # an alpha channel that hides nothing
            alpha = None
    if gray:
        return np.ascontiguousarray(values.reshape(values.shape[:2])), alpha
    return np.ascontiguousarray(values[..., ::-1]), alpha  # RGB -> BGR, OpenCV's order


def over_white(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """A transparent picture as viewers show it: over a white background.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) ndarray
        uint8 (0..255), uint16 (0..65535) or float (0..1).
    alpha : (H, W) ndarray
        Opacity: uint8 0..255, uint16 0..65535 or float 0..1.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``: ``image * a + white * (1 - a)`` with ``a`` in 0..1.
    """
    def scale(dtype: np.dtype) -> float:
        return 1.0 if np.issubdtype(dtype, np.floating) else float(np.iinfo(dtype).max)

    a = alpha.astype(np.float32) / scale(alpha.dtype)
    if image.ndim == 3:
        a = a[..., np.newaxis]
    white = scale(image.dtype)
    mixed = image.astype(np.float32) * a + white * (1 - a)
    return mixed.astype(image.dtype) if white == 1.0 else (mixed + 0.5).astype(image.dtype)
