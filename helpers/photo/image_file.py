"""One image file colourised: every picture of it (or the first), transparency kept, restored first if asked.

Introduced in notebook 02_photo (the upload box); the same function serves ``python -m helpers photo``,
the Dask workers and the classroom app, so a photo comes out the same wherever it is coloured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..common.image_files import ImageFile, Picture, open_image_bytes, open_image_file
from ..model.net import DEFAULT_SIZE, ColorizationNet
from ..restoration.photo_restore_files import restore_picture
from .colorize import colorize, colour_under_alpha


@dataclass(frozen=True)
class ColourisedFile:
    """An image file's pictures, colourised, with what ``write_pictures`` needs to write them like the original."""

    source: ImageFile
    """The file as it was read: ``format``, ``count`` (pictures in it), ``loop`` and ``dpi`` to keep."""
    pictures: list[Picture]
    """Colourised, shown over white where transparent (``alpha`` kept), as ``write_pictures`` expects."""
    masks: list[np.ndarray] = field(default_factory=list)
    """What ``restore`` filled, one (H, W) uint8 mask per restored picture; empty without ``restore``."""


def colorize_image_file(
    source: str | os.PathLike | bytes,
    net: ColorizationNet,
    *,
    temperature: float,
    size: int = DEFAULT_SIZE,
    keep_all: bool = False,
    restore: tuple[str, ...] = (),
    max_pixels: int | None = None,
    name: str = "the upload",
) -> ColourisedFile:
    """Colourise the pictures of one image file: a path, or its bytes (an upload, named ``name`` in messages).

    Parameters
    ----------
    temperature : float
        Annealed-mean temperature T in (0, 10]; set on ``net`` for these pictures (``helpers.set_temperature``).
    keep_all : bool
        Every frame of an animation or page of a scan; else only the first picture.
    restore : tuple of str
        Photo restoration steps to run first (``restoration.photo_restore.PHOTO_STEPS``), as ``photo --restore``.
    max_pixels : int, optional
        Pictures larger than this are shrunk to it first, their shape kept (the classroom's phones).

    Raises
    ------
    FileNotFoundError, PermissionError, ValueError
        Not there, not readable, or not an image (damaged, too large): the message says which.

    Example: ``write_pictures("coffee_color.jpg", colorize_image_file("coffee.jpg", net, temperature=0.38).pictures)``
    """
    image_file = open_image_bytes(source, name) if isinstance(source, bytes) else open_image_file(source)
    keep = image_file.count if keep_all else 1
    pictures: Iterator[Picture] = islice(image_file.pictures(), keep)
    if keep > 1:  # a bar for animations and scans of many pages, in a terminal only
        pictures = tqdm(pictures, total=keep, desc=image_file.path.name, unit="picture", leave=False, disable=None)
    coloured, masks = [], []
    for picture in pictures:  # one at a time: bench/photo_speed.py shows batches save nothing on a CPU
        if max_pixels is not None:
            picture = picture_at_most(picture, max_pixels)
        if restore:
            picture, mask = restore_picture(picture, restore)
            masks.append(mask)
        image = colorize(picture.image, net, temperature=temperature, size=size)
        coloured.append(replace(picture, image=colour_under_alpha(picture, image)))
    return ColourisedFile(image_file, coloured, masks)


def at_most(image: np.ndarray, pixels: int) -> np.ndarray:
    """``image`` ((H, W) or (H, W, C) ndarray) shrunk to at most ``pixels`` pixels, its aspect ratio kept
    (area interpolation); ``image`` itself if it is no larger.

    Example: ``at_most(np.zeros((4000, 3000), np.uint8), 3_000_000).shape`` is (2000, 1500).
    """
    h, w = image.shape[:2]
    if h * w <= pixels:
        return image
    scale = (pixels / (h * w)) ** 0.5
    return cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def picture_at_most(picture: Picture, pixels: int) -> Picture:
    """``picture`` shrunk to at most ``pixels`` pixels (``at_most``), its transparency with it."""
    if picture.image.shape[0] * picture.image.shape[1] <= pixels:
        return picture
    alpha, under = (None if a is None else at_most(a, pixels) for a in (picture.alpha, picture.under))
    return replace(picture, image=at_most(picture.image, pixels), alpha=alpha, under=under)
