"""Working arrays reused from frame to frame: a new full-size array for each frame costs page faults.

The C library hands a large block (above 128 kB by default: a 240 x 320 float32 frame is 300 kB) back
to the system as soon as it is freed, so an array made afresh for every frame is mapped, faulted in
page by page and unmapped again each time: measured, 10 % of fast mode's per-frame finish and a fifth
of ``helpers.restoration.grain``'s time. ``reused`` keeps one array per name, per thread, instead, for as long as
the thread lives (a few frames' worth of memory).

Used by ``helpers.video.keyframes`` (notebook 04_faster_video) and ``helpers.restoration.grain``
(notebook 05_restoration).
"""

from __future__ import annotations

import threading

import numpy as np

_THIS_THREADS = threading.local()


def reused(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` for a temporary value of this thread, the same array each time
    ``name`` is asked for with that shape and type (its contents are whatever the last use left).

    Only for values that do not outlive the call that fills them, and named after their module
    (``"grain.share"``), so that two functions that call each other never share one.

    Example: ``cv2.multiply(d, d, dst=reused("grain.patch", d.shape, np.float32))``."""
    arrays = _THIS_THREADS.__dict__.setdefault("arrays", {})
    array = arrays.get(name)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = arrays[name] = np.empty(shape, dtype)
    return array
