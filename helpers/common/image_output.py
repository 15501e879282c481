"""Image files written as the originals were: every frame or page, transparency, resolution (notebook 02_photo).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .files import atomic_path
from .image_files import FORMATS, IMAGE_EXTENSIONS, SEVERAL_PICTURES, TRANSPARENCY, Picture, open_pillow

SOFTWARE = "colorize-tutorial (python -m helpers photo)"
"""Written into every result as the file's "Software" (EXIF, TIFF tag) or comment (GIF), so a later
run can tell its own results from your photos (``is_result``)."""


RESULT_NAME = re.compile(r"_color(_\d+)?$")
"""Names of results: ``<name>_color.<ext>``, or ``<name>_color_2.<ext>``... when the name was taken."""


_EXIF_SOFTWARE = 0x0131


def _from_white(img_bgr: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Undo ``over_white`` for a uint8 picture: the colours that, at opacity ``alpha`` over white,
    look like ``img_bgr``. Fully transparent pixels keep ``img_bgr`` (they are hidden)."""
    a = alpha.astype(np.float32)[..., np.newaxis] / 255
    straight = (img_bgr.astype(np.float32) - 255 * (1 - a)) / np.maximum(a, 1 / 255)
    return np.where(a > 0, np.clip(straight + 0.5, 0, 255), img_bgr).astype(np.uint8)


def write_pictures(
    path: str | os.PathLike,
    pictures: Sequence[Picture],
    *,
    loop: int | None = None,
    dpi: tuple[float, float] | None = None,
) -> Path:
    """Write pictures as one file of the format its suffix names, atomically; returns the path.

    Several pictures become an animation (GIF, PNG, WebP: each picture's ``duration``) or pages
    (TIFF). Transparency is kept where the format has it; elsewhere the pictures stay as they are,
    over white. The file is marked as a result of this tool (``SOFTWARE``) and gets the
    permissions your umask gives new files.

    Parameters
    ----------
    path : path
        Its suffix picks the format: one of ``IMAGE_EXTENSIONS``.
    pictures : sequence of Picture
        uint8 gray or BGR images (as ``colorize`` returns), shown over white where ``alpha`` < 255.
    loop : int, optional
        For an animation: how often it repeats (0: forever; None: it plays once).
    dpi : (float, float), optional
        Dots per inch, for formats that store it (JPEG, PNG, TIFF, BMP): a scan's resolution.

    Raises
    ------
    ValueError
        An unknown suffix, no pictures, or several for a format that holds one (JPEG, BMP).
    OSError
        The file could not be written (the message names it, not its temporary file).
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"Cannot write {path.suffix!r} files; use one of {', '.join(IMAGE_EXTENSIONS)}.")
    if not pictures or (len(pictures) > 1 and fmt not in SEVERAL_PICTURES):
        raise ValueError(f"{fmt} files hold one picture, not {len(pictures)}: {path}")
    transparent = fmt in TRANSPARENCY and any(p.alpha is not None for p in pictures)
    frames = [_to_pillow(p, transparent, all_or_nothing=fmt == "GIF") for p in pictures]
    options = _save_options(fmt, pictures, loop=loop, transparent=transparent)
    if dpi and min(dpi) > 0 and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        options["dpi"] = tuple(round(float(d)) for d in dpi)
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:])
    try:
        with atomic_path(path) as tmp:
            frames[0].save(tmp, format=fmt, **options)
    except OSError as exc:
        raise OSError(exc.errno, f"Could not write {path}: {exc.strerror or exc}") from exc
    return path


def _to_pillow(picture: Picture, transparent: bool, all_or_nothing: bool = False) -> Image.Image:
    image = picture.image
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if not transparent:
        return Image.fromarray(image)
    alpha = picture.alpha if picture.alpha is not None else np.full(image.shape[:2], 255, np.uint8)
    if all_or_nothing:  # GIF: a half-transparent pixel becomes opaque, showing its colour over white
        alpha = np.where(alpha >= 128, 255, 0).astype(np.uint8)
    straight = _from_white(image, alpha)
    if straight.ndim == 2:
        return Image.fromarray(np.dstack([straight, alpha]), "LA")
    return Image.fromarray(np.dstack([straight, alpha]), "RGBA")


def _save_options(fmt: str, pictures: Sequence[Picture], *, loop: int | None, transparent: bool) -> dict:
    """Pillow's options: quality like OpenCV's defaults, frame times, and the SOFTWARE mark."""
    exif = Image.Exif()
    exif[_EXIF_SOFTWARE] = SOFTWARE
    options = {
        "JPEG": {"quality": 95, "exif": exif},
        "PNG": {"exif": exif},
        "WEBP": {"lossless": True, "exif": exif},  # OpenCV's default for WebP
        "TIFF": {"compression": "tiff_lzw", "exif": exif},
        "GIF": {"comment": SOFTWARE},
        "BMP": {},  # BMP has no place for the mark
    }[fmt]
    if len(pictures) > 1 and fmt != "TIFF":
        durations = [p.duration or 0 for p in pictures]
        # GIF and WebP store whole milliseconds; animated PNG keeps fractions (1/30 s).
        options["duration"] = durations if fmt == "PNG" else [round(d) for d in durations]
        if loop is not None:
            options["loop"] = loop
        if fmt == "GIF" and transparent:
            options["disposal"] = 2  # clear each frame: else a transparent pixel shows the frame before
    return options


class OutputFolderError(ValueError):
    """An output folder cannot be used: a file is in the way, or it is read-only."""


def check_output_folder(folder: str | os.PathLike) -> None:
    """Make sure results can be written into ``folder`` (or it can be created), without creating it.

    Run it once before slow work (loading the model), so a problem is reported once, naming
    the folder, instead of once per picture naming a temporary file.

    Raises
    ------
    OutputFolderError
        The message names the folder, the reason and what to do.
    """
    folder = Path(folder)
    fix = "Choose another folder (--out DIR), or fix this one and run the command again."
    if folder.is_symlink() and not folder.exists():
        raise OutputFolderError(f"Cannot write into {folder}: it is a link to {os.readlink(folder)}, which does "
                                f"not exist. {fix}")
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"Cannot write into {folder}: it is a file, not a folder. {fix}")
    existing = folder
    while not existing.exists():  # the nearest folder that exists: where the new ones would be made
        if existing.is_symlink() or existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputFolderError(f"Cannot create the folder {folder}: {existing} is a file, not a folder. {fix}")
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == folder:
            reason = f"Cannot write into {folder}: the folder is read-only for you"
        else:
            reason = f"Cannot create the folder {folder}: {existing} is read-only for you"
        raise OutputFolderError(f"{reason} (no permission to write there, or a read-only disk). {fix}")


def is_result(path: str | os.PathLike) -> bool:
    """True for a result of this tool (``<name>_color.<ext>`` carrying the ``SOFTWARE`` mark).

    A BMP cannot carry the mark: it counts as a result when a picture ``<name>.*`` is beside it.
    Your own files, even when named ``..._color``, are never taken for results.
    """
    path = Path(path)
    match = RESULT_NAME.search(path.stem)
    if not match or not path.is_file():
        return False
    if FORMATS.get(path.suffix.lower()) == "BMP":
        source = glob.escape(str(path.parent / path.stem[: match.start()])) + ".*"
        return any(Path(p).suffix.lower() in FORMATS for p in glob.glob(source))
    try:
        with open_pillow(path, path) as im:
            marks = (im.getexif().get(_EXIF_SOFTWARE), im.info.get("comment"))
    except (OSError, ValueError, SyntaxError):
        return False
    return any(SOFTWARE in (m.decode(errors="replace") if isinstance(m, bytes) else str(m)) for m in marks if m)
