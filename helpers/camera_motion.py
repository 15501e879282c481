"""The camera's motion between two frames, one affine for the whole picture: taught in notebook 05_restoration.

A dense optical flow (``helpers.motion``) gives every pixel its own motion; where the camera alone moved, one
affine (six numbers) says as much, is measured on a much smaller picture, and moves a whole frame with
``cv2.warpAffine`` for less than a dense ``cv2.remap``. ``helpers.dust`` moves the frames around a frame this way
where it explains them, and falls back to the dense flow where something large moves on its own.

* ``camera_flow``: the DIS flow that gives the first guess, on frames ``CAMERA_SIDE`` pixels long;
* ``camera_motion``: the affine, fitted to that flow and refined on the frames' gray levels;
* ``camera_warp``: a frame moved onto another by it.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .motion import OpticalFlow, pixel_positions

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


def camera_flow() -> OpticalFlow:
    """DIS (``motion.OpticalFlow``) without its variational refinement, for ``camera_motion``'s first guess
    (0.05 ms at 120 x 80; with the refinement 0.26; at 80 x 53, 0.9: DIS's pyramid for frames that small).

    Example: ``flow = camera_flow().calc(small, prev_small)``."""
    return OpticalFlow(refined=False)


@lru_cache(maxsize=8)
def _camera_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a frame of ``shape`` ``(h, w)``: the ``(x, y, 1)`` of every ``CAMERA_FIT_STEP``-th pixel, ``(n, 3)``
    float32; 1.0 at those ``EDGE`` pixels or more from the edges, else 0, ``(n,)``; and their pseudo-inverse,
    ``(3, n)`` (shared: not to be changed)."""
    h, w = shape
    grid = pixel_positions(shape)[::CAMERA_FIT_STEP, ::CAMERA_FIT_STEP].reshape(-1, 2)
    inner = ((grid >= EDGE) & (grid <= np.float32([w - 1 - EDGE, h - 1 - EDGE]))).all(axis=1).astype(np.float32)
    points = np.column_stack([grid, np.ones(len(grid), np.float32)])
    solve = np.linalg.pinv(points).astype(np.float32)  # least squares: solve @ displacements
    points.flags.writeable = inner.flags.writeable = solve.flags.writeable = False
    return points, inner, solve


def camera_motion(flow: np.ndarray, small: np.ndarray, other: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The camera's motion between two frames: an affine fitted to their coarse flow (least squares), then one
    Gauss-Newton step on their levels (Lucas and Kanade's image alignment, with the two frames' gradients averaged:
    Benhimane and Malis, "Real-time image-based tracking of planes using efficient second-order minimization",
    IROS 2004), leaving out pixels that differ by more than ``CAMERA_OUTLIER``.

    Parameters
    ----------
    flow : (h, w, 2) float32 ndarray
        Displacements of ``small``'s pixels into ``other`` (``camera_flow``).
    small, other : (h, w) uint8 ndarray
        The two frames at ``CAMERA_SIDE``.
    size : (W, H)
        The frames' full size.

    Returns
    -------
    ``(2, 3)`` float32: this frame's full-size pixel ``(x, y, 1)`` to its position in the other frame (for
    ``camera_warp``).

    Example: ``affine = camera_motion(camera_flow().calc(small, prev_small), small, prev_small, (640, 480))``.
    """
    h, w = small.shape
    points, inner, solve = _camera_grid((h, w))
    grid = np.s_[::CAMERA_FIT_STEP, ::CAMERA_FIT_STEP]
    affine = (solve @ flow[grid].reshape(-1, 2)).T + np.eye(2, 3)  # small x -> small x + flow
    moved = camera_warp(other, affine.astype(np.float32))
    both = cv2.add(small, moved, dtype=cv2.CV_16S)  # the two frames' gradients averaged: of their sum, halved
    gx = cv2.Sobel(both, cv2.CV_32F, 1, 0, scale=1 / 16)[grid].ravel()
    gy = cv2.Sobel(both, cv2.CV_32F, 0, 1, scale=1 / 16)[grid].ravel()
    error = cv2.subtract(moved, small, dtype=cv2.CV_32F)[grid].ravel()
    weight = inner * (np.abs(error) < CAMERA_OUTLIER)
    jacobian = np.concatenate([points * gx[:, np.newaxis], points * gy[:, np.newaxis]], axis=1)  # (n, 6)
    weighted = (jacobian * weight[:, np.newaxis]).T
    affine -= np.linalg.solve(weighted @ jacobian + CAMERA_DAMPING * np.eye(6), weighted @ error).reshape(2, 3)
    sx, sy = w / size[0], h / size[1]
    scale = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])  # full x -> small x
    return (np.linalg.inv(scale) @ np.vstack([affine, [0, 0, 1]]) @ scale)[:2].astype(np.float32)


def camera_warp(other_gray: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: ``other_gray`` (``(H, W)`` uint8) moved onto this frame by the camera's motion: ``affine``
    (``(2, 3)`` float32, ``camera_motion``) takes this frame's pixels to their positions in the other frame
    (bilinear, the nearest edge pixel outside, as ``motion.warp``).

    Example: ``before_here = camera_warp(before_gray, affine)``; the frame after: ``cv2.invertAffineTransform``."""
    return cv2.warpAffine(other_gray, affine, other_gray.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
