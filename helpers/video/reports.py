"""What a run did, in words for people: ``FramesReport``, ``VideoReport``, and ``Stopped`` for Ctrl+C.

Introduced in notebook 03_video.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..media.probe import VideoInfo
from ..media.video_check import Reassembly


@dataclass
class FramesReport:
    """What ``colorize_frames`` did."""

    frames_dir: Path
    first: int
    """Number of the first frame of the range (1 = the video's first frame)."""
    done: int = 0
    """Frames of the range now on disk, computed or reused."""
    computed: int = 0
    reused: int = 0
    redone: int = 0
    """Frame files found damaged and computed again."""
    network_passes: int = 0
    """Frames the network ran on: all computed ones in exact mode, only keyframes in fast mode."""
    decode_error: str | None = None
    """Why decoding stopped early, if it did; the frames before it are kept."""
    decode_notes: list[str] = field(default_factory=list)
    """Damage FFmpeg stepped over (those frames may show it)."""
    deinterlaced: bool = False
    seek_fallbacks: int = 0
    """With Dask: ranges whose worker could not seek as the frame table said, so decoded from the start."""
    deleted: int = 0
    """Frames of other settings or another video that ``restart`` deleted from the folder."""
    cluster_notes: list[str] = field(default_factory=list)
    """With Dask: a line per worker (frames, speed) and one per worker that was refused."""
    new_frames: list[int] = field(default_factory=list, repr=False)


class Stopped(KeyboardInterrupt):
    """Ctrl+C (or ■ in a notebook) during ``colorize_video`` or ``colorize_frames``: one line for
    people, not a traceback. ``kept``: what a rerun finds done."""

    def __init__(self, frame: int, kept: str = "finished segments") -> None:
        super().__init__(f"stopped at frame {frame}; run the same command to resume (the {kept} are kept)")
        self.frame = frame

    def _render_traceback_(self) -> list[str]:  # what IPython shows instead of a traceback
        return [f"Stopped: {self}"]


@dataclass
class VideoReport:
    """What ``colorize_video`` did."""

    video: Path
    frames: FramesReport
    source: VideoInfo
    written: Reassembly
    replaced: bool = False
    """``video`` existed before this run, which replaced it."""
    segments_computed: int = 0
    segments_reused: int = 0
    segments_bytes: int = 0
    """Disk space the segments take in the frames folder."""
    png_bytes: int = 0
    """Disk space of ``frame_*.png`` files in the frames folder (``keep_frames``, or an earlier version's)."""

    def __str__(self) -> str:
        f, w = self.frames, self.written
        lines = [f"{self.video}: {w.frames} frames, {w.duration:.2f} s"
                 + (" (it replaced the video of an earlier run)" if self.replaced else "")]
        if f.deleted:
            lines.append(f"restart: deleted {f.deleted} frames of other settings or another video in {f.frames_dir}")
        lines += [f"segments in {f.frames_dir}: {self.segments_computed} computed ({f.computed} frames, "
                  f"{f.network_passes} network passes), {self.segments_reused} reused ({f.reused} frames), "
                  f"{self.segments_bytes / 1e6:.1f} MB" + (f"; {f.redone} frames of damaged segments redone"
                                                           if f.redone else ""), w.check, *w.sound_notes]
        if self.png_bytes:
            lines.append(f"the frames folder also holds frames as PNG files ({self.png_bytes / 1e6:.0f} MB, from "
                         "colorize_frames or keep_frames): the video is made without them")
        if f.deinterlaced:
            lines.append("the source is interlaced: frames were deinterlaced (bwdif) before colourising")
        if f.decode_notes:
            lines.append(f"FFmpeg stepped over damage in the source ({len(f.decode_notes)} messages; those frames "
                         f"may show it): {f.decode_notes[0]}")
        if f.decode_error:
            lines.append(f.decode_error)
        return "\n".join(lines + f.cluster_notes)


def decoding_stopped(message: str, index: int, frames_dir: Path) -> str:
    """The report's line for a video whose frame ``index`` (0-based) could not be decoded."""
    return f"Decoding stopped at frame {index + 1}: {message}. The frames before it are kept in {frames_dir}."
