"""Widgets for videos: a wipe over two clips, players in a labelled grid, a frame scrubber (notebooks 03 to 05).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import ipywidgets as widgets
import numpy as np

from ..photo.compare import as_bgr_uint8, jpeg_bytes, shrink_to_fit, side_by_side
from .photo import DISPLAY_SIDE, WipeSlider


class WipeScrubber(WipeSlider):
    """A ``WipeSlider`` over two equally long sequences of frames, with a second slider for the frame
    (notebook 05_restoration: the degraded clip and its restoration, frame by frame).

    Parameters
    ----------
    before, after : sequence of ndarray
        Frames of one size (gray or BGR, any depth), as many in each; they are shrunk once to
        ``max_side`` and kept (about 0.15 MB a frame at 320 px), so scrubbing is instant.
    max_side : int
        The pictures are shrunk to this size for display.

    Attributes
    ----------
    frame : widgets.IntSlider
        The frame shown, 0 .. len - 1 (a frame's ``index``).
    """

    def __init__(self, before: Sequence[np.ndarray], after: Sequence[np.ndarray], *, max_side: int = DISPLAY_SIDE):
        if len(before) != len(after) or not before:
            raise ValueError(f"before and after must be as many frames, and some: got {len(before)} and {len(after)}.")
        self._before = [shrink_to_fit(as_bgr_uint8(frame), max_side) for frame in before]
        self._after = [shrink_to_fit(as_bgr_uint8(frame), max_side) for frame in after]
        super().__init__(self._before[0], self._after[0], max_side=max_side)
        self.frame = widgets.IntSlider(value=0, min=0, max=len(before) - 1, description="frame",
                                       continuous_update=True, layout=widgets.Layout(width=self.slider.layout.width))
        self.frame.observe(self._show_frame, names="value")
        self.children = (*self.children, self.frame)

    def _show_frame(self, change: dict | None = None) -> None:
        self.before, self.after = self._before[self.frame.value], self._after[self.frame.value]
        self._update()


VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mp4", ".webm": "webm"}
"""File suffix -> the format a browser's ``<video>`` is told (QuickTime files hold the same H.264 as MP4)."""


def player(path: str | os.PathLike, *, width: int = 360) -> widgets.Video:
    """A video player for ``path`` (MP4, MOV or WebM), with its sound (notebooks 03 and 04).

    The file's bytes go to the page through the widget, not into the notebook: a saved notebook
    stays small (the same clip embedded five times once made notebook 03 16 MB), and the player
    works wherever the file is, inside JupyterLab's folder or not. Reopened later, the player
    comes back when its cell runs again.
    """
    path = Path(path)
    kind = VIDEO_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path.name}: a browser plays {', '.join(sorted(VIDEO_FORMATS))} files; convert it to MP4 "
                         "first (colorize_video writes MP4).")
    return widgets.Video(value=path.read_bytes(), format=kind, width=width, autoplay=False, loop=False,
                         controls=True)


def video_grid(videos: Mapping[str, str | os.PathLike], *, width: int = 360, columns: int = 2) -> widgets.GridBox:
    """Videos side by side in a grid, each under its label, for comparing versions of one clip.

    Parameters
    ----------
    videos : mapping
        ``{label: path}`` in display order, e.g. ``{"original": clip, "colourised": out}``.
    width : int
        Width of each player in pixels (two players of 360 px fit JupyterLab's default width).
    columns : int
        Players per row.

    Returns
    -------
    widgets.GridBox
        One ``player`` per video under its label (they play with sound: press play on each).
    """
    cells = [widgets.VBox([widgets.HTML(f"<b>{html.escape(label)}</b>"), player(path, width=width)])
             for label, path in videos.items()]
    return widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns=f"repeat({columns}, {width}px)",
                                                       grid_gap="12px"))


class FrameScrubber(widgets.VBox):
    """A slider over frame numbers: the original frame next to its colourisation (notebook 03_video).

    Parameters
    ----------
    video : path
        The original video. Its frames are read once, shrunk to ``max_side``, and kept in
        memory (about 0.2 MB each at 320 px), so scrubbing is instant.
    colourised : path
        The colourised video (``colorize_video``'s output), read the same way; or a folder of
        ``frame_000001.png``... files (``colorize_frames``). Frames not colourised show as grey.
    first : int
        The number of the original's frame that the colourised video starts with (1, unless
        it is a preview made with ``start``: ``report.frames.first``).
    max_frames : int
        Read at most this many frames of each video (memory stays bounded for long videos).
    """

    def __init__(self, video: Path, colourised: Path, *, first: int = 1, max_side: int = 320,
                 max_frames: int = 2000):
        from ..media.decode import read_frames
        from ..video.frames_folder import frame_path  # PyAV is imported only when a video is shown

        self._frame_path = frame_path
        self.colourised = Path(colourised)
        self.originals = [shrink_to_fit(frame.image, max_side) for frame in read_frames(video, max_frames=max_frames)]
        if not self.originals:
            raise ValueError(f"{video} has no frames to show.")
        self.colours: dict[int, np.ndarray] = {}  # frame number -> colourised frame, from a video
        if Path(colourised).is_file():
            for frame in read_frames(colourised, max_frames=max(0, max_frames - first + 1), deinterlace="off"):
                self.colours[first + frame.index] = shrink_to_fit(frame.image, max_side)
        self.slider = widgets.IntSlider(
            value=1, min=1, max=len(self.originals), description="frame", continuous_update=True,
            layout=widgets.Layout(width="600px"),
        )
        self.image = widgets.Image(format="jpeg")
        self.caption = widgets.HTML()
        self.slider.observe(self._update, names="value")
        self._update()
        super().__init__([self.caption, self.image, self.slider])

    def _update(self, change: dict | None = None) -> None:
        original = self.originals[self.slider.value - 1]
        width = original.shape[1]
        self.caption.value = (f"<div style='display:flex;width:{2 * width + 8}px'><b style='width:{width + 8}px'>"
                              f"original, frame {self.slider.value}</b><b>colourised</b></div>")
        path = self._frame_path(self.colourised, self.slider.value)
        colour = self.colours.get(self.slider.value)
        if colour is None and path.is_file():
            colour = cv2.imread(str(path))
        if colour is None:
            colour = np.full_like(as_bgr_uint8(original), 128)
        colour = cv2.resize(colour, (original.shape[1], original.shape[0]), interpolation=cv2.INTER_AREA)
        self.image.value = jpeg_bytes(side_by_side([original, colour]))
