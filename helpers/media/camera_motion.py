"""The camera's motion between two frames, one affine for the whole picture: taught in notebook 05_restoration.

A dense optical flow (``helpers.media.motion``) gives every pixel its own motion; where the camera alone moved, one
affine (six numbers) says as much, is measured on a much smaller picture, and moves a whole frame with
``cv2.warpAffine`` for less than a dense ``cv2.remap``. ``restoration.dust`` moves the frames around a frame this way
where it explains them, and falls back to the dense flow where something large moves on its own.

* ``camera_small``: a frame as it is measured on;
* ``camera_flow``: the DIS flow that gives the first guess, on frames ``CAMERA_SIDE`` pixels long;
* ``camera_motion``: the affine, fitted to that flow and refined on the frames' gray levels;
* ``camera_warp``: a frame moved onto another by it.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .motion import OpticalFlow, pixel_positions, small_gray

CAMERA_SIDE = 120
"""Longest side (pixels) at which ``camera_motion`` measures the camera's motion (a pan, a zoom: the same over the
whole frame, so a coarse picture gives it): a quarter of the sample clip's 480, an exact shrink."""
CAMERA_FIT_STEP = 2
"""``camera_motion`` works on every ``CAMERA_FIT_STEP``-th pixel of every such row (neighbouring pixels tell
nearly the same: a quarter of the pixels, a quarter of the time)."""
CAMERA_OUTLIER = 20.0
"""Gray levels: pixels that differ more than this after the camera's motion (a speck, a thing moving on its
own) are left out of its refinement (``camera_motion``)."""
CAMERA_DAMPING = 1e-3
"""Added to the diagonal of the refinement's normal equations: a flat frame (no gradient) leaves the affine
fitted to the flow as it is instead of dividing by zero."""
EDGE = 2
"""Pixels from the frame's edge left out of the refinement: a move reads the nearest edge pixel there."""


def camera_small(gray: np.ndarray) -> np.ndarray:
    """``(h, w)`` uint8: a gray frame (``(H, W)`` uint8) as ``camera_motion`` sees it, ``CAMERA_SIDE`` pixels on its
    longest side (``motion.small_gray``): halved first while it is twice that or longer (OpenCV averages 2 x 2
    pixels five times faster than 4 x 4: 0.01 against 0.05 ms from 480 x 320 to 120 x 80).

    Example: ``camera_small(np.zeros((480, 640), np.uint8)).shape`` is ``(90, 120)``."""
    while max(gray.shape) >= 2 * CAMERA_SIDE:
        gray = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return small_gray(gray, CAMERA_SIDE)


def camera_flow() -> OpticalFlow:
    """DIS (``motion.OpticalFlow``) without its variational refinement, for ``camera_motion``'s first guess
    (0.05 ms at 120 x 80; with the refinement 0.26; at 80 x 53, 0.9: DIS's pyramid for frames that small).

    Example: ``flow = camera_flow().calc(small, prev_small)``."""
    return OpticalFlow(refined=False)


@lru_cache(maxsize=8)
def _camera_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a frame of ``shape`` ``(h, w)``, at every ``CAMERA_FIT_STEP``-th pixel of every such row: ``(n, 2, 2)``
    float32, for x and for y, the pixel's coordinate and 1 (the terms of a zoom and a pan along that axis); ``(n,)``
    float32, 1.0 at those ``EDGE`` pixels or more from the edges, else 0; ``(2, 2, n)`` float32, for x and for y,
    the pseudo-inverse of the terms (shared: not to be changed)."""
    h, w = shape
    grid = pixel_positions(shape)[::CAMERA_FIT_STEP, ::CAMERA_FIT_STEP].reshape(-1, 2)
    inner = ((grid >= EDGE) & (grid <= np.float32([w - 1 - EDGE, h - 1 - EDGE]))).all(axis=1).astype(np.float32)
    terms = np.stack([grid, np.ones_like(grid)], axis=-1)
    solve = np.stack([np.linalg.pinv(terms[:, axis]) for axis in (0, 1)]).astype(np.float32)  # least squares
    terms.flags.writeable = inner.flags.writeable = solve.flags.writeable = False
    return terms, inner, solve


def camera_motion(flow: np.ndarray, small: np.ndarray, other: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The camera's motion between two frames, a zoom and a pan (``x' = s x + t`` along each axis, no roll): fitted
    to their coarse flow (least squares), then one Gauss-Newton step on their levels (Lucas and Kanade's image
    alignment, with the two frames' gradients averaged: Benhimane and Malis, "Real-time image-based tracking of
    planes using efficient second-order minimization", IROS 2004), leaving out pixels that differ by more than
    ``CAMERA_OUTLIER``.

    Notes
    -----
    A full affine (a roll and a shear too) found 0.3 pixel of them on the sample clip's pairs, mostly noise: dust
    without them scored better (+0.1 to +1.7 dB at 64 to 4 specks a frame), and ``cv2.warpAffine`` moves a frame
    three times faster without them (0.06 against 0.17 ms at 480 x 320).

    Parameters
    ----------
    flow : (h, w, 2) float32 ndarray
        Displacements of ``small``'s pixels into ``other`` (``camera_flow``).
    small, other : (h, w) uint8 ndarray
        The two frames at ``CAMERA_SIDE`` (``camera_small``).
    size : (W, H)
        The frames' full size.

    Returns
    -------
    ``(2, 3)`` float32 ``[[sx, 0, tx], [0, sy, ty]]``: this frame's full-size pixel ``(x, y, 1)`` to its position in
    the other frame (for ``camera_warp``).

    Example: ``affine = camera_motion(camera_flow().calc(small, prev_small), small, prev_small, (640, 480))``.
    """
    h, w = small.shape
    terms, inner, solve = _camera_grid((h, w))
    grid = np.s_[::CAMERA_FIT_STEP, ::CAMERA_FIT_STEP]
    there = terms[..., 0] + flow[grid].reshape(-1, 2)  # (n, 2): where each pixel is in the other frame
    zoom_pan = np.stack([solve[axis] @ there[:, axis] for axis in (0, 1)])  # (2, 2): [s, t] for x, for y
    moved = camera_warp(other, _affine(zoom_pan))
    both = cv2.add(small, moved, dtype=cv2.CV_16S)  # the two frames' gradients averaged: of their sum, halved
    gradient = np.stack([cv2.Sobel(both, cv2.CV_32F, 1, 0, scale=1 / 16)[grid].ravel(),
                         cv2.Sobel(both, cv2.CV_32F, 0, 1, scale=1 / 16)[grid].ravel()], axis=1)  # (n, 2)
    error = cv2.subtract(moved, small, dtype=cv2.CV_32F)[grid].ravel()
    weight = inner * (np.abs(error) < CAMERA_OUTLIER)
    jacobian = (gradient[..., np.newaxis] * terms).reshape(-1, 4)  # (n, 4): sx, tx, sy, ty
    weighted = (jacobian * weight[:, np.newaxis]).T
    normal = (weighted @ jacobian).astype(np.float64) + CAMERA_DAMPING * np.eye(4)
    right = (weighted @ error).astype(np.float64).reshape(4, 1)  # 2-D: OpenCV reads 4 values alone as a number
    zoom_pan -= cv2.solve(normal, right, flags=cv2.DECOMP_CHOLESKY)[1].reshape(2, 2)  # NumPy's: 3x longer
    scale = np.float32([w / size[0], h / size[1]])  # a full-size pixel's x is (x + 0.5) scale - 0.5 small
    offset = 0.5 * scale - 0.5
    zoom_pan[:, 1] = (zoom_pan[:, 1] + offset * (zoom_pan[:, 0] - 1)) / scale
    return _affine(zoom_pan)


def _affine(zoom_pan: np.ndarray) -> np.ndarray:
    """``(2, 3)`` float32 ``[[sx, 0, tx], [0, sy, ty]]`` of ``(2, 2)`` ``[[sx, tx], [sy, ty]]``."""
    affine = np.zeros((2, 3), np.float32)
    affine[[0, 1], [0, 1]], affine[:, 2] = zoom_pan[:, 0], zoom_pan[:, 1]
    return affine


def camera_warp(other_gray: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: ``other_gray`` (``(H, W)`` uint8) moved onto this frame by the camera's motion: ``affine``
    (``(2, 3)`` float32, ``camera_motion``) takes this frame's pixels to their positions in the other frame
    (bilinear, the nearest edge pixel outside, as ``motion.warp``).

    Example: ``before_here = camera_warp(before_gray, affine)``; the frame after: ``cv2.invertAffineTransform``."""
    return cv2.warpAffine(other_gray, affine, other_gray.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
