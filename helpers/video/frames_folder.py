"""The frames folder: colourised frames on disk, and the manifest that makes a run resumable.

``colorize_frames`` (``helpers.video``) saves frame 1 of a video as ``frame_000001.png`` in a
folder of its own, named after the settings (``colorized_frames/<video>/<settings_name>``), so
frames made with other settings never meet. Beside the frames lies ``manifest.json``: which
video file (path, size, time of last change) and which settings the frames belong to, and each
frame's timestamp. Running again reuses every frame that is complete on disk, and refuses (or
with ``restart`` clears) frames of another video or other settings, so they are never mixed.
While a run works in a folder it holds the folder's lock, so a second run stops at once instead
of mixing frames in.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..common.files import FolderLock, remove_stale_parts, write_bytes
from ..media.decode import Frame
from ..media.probe import VideoError, VideoInfo
from .segments import segment_files

FRAME_PATTERN = "frame_{:06d}.png"
"""Six digits: enough for 11 hours at 25 fps, and file listings sort in frame order."""
MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
"""Version 2 records every frame's timestamp; folders of version 1 are redone with ``restart``."""


def frame_path(frames_dir: str | os.PathLike, number: int) -> Path:
    """Where frame ``number`` (1 = the first frame) is saved."""
    return Path(frames_dir) / FRAME_PATTERN.format(number)


_PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def frame_file_ok(path: Path, shape: tuple[int, int]) -> bool:
    """A complete PNG of ``shape`` (height, width): checked from its first and last bytes, without decoding."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            f.seek(-len(_PNG_END), os.SEEK_END)
            tail = f.read()
    except OSError:
        return False
    size = (int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big"))
    return head[:16] == _PNG_START and tail == _PNG_END and size == tuple(shape)


_held: dict[Path, list] = {}
_held_guard = threading.Lock()


@contextmanager
def frames_folder_lock(frames_dir: Path) -> Iterator[None]:
    """Hold ``frames_dir``'s ``FolderLock`` (re-entrant within this process: ``colorize_video`` holds it
    across ``colorize_frames`` and ``frames_to_video``). Another process gets ``FolderInUseError``."""
    key = Path(frames_dir).resolve()
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            lock = FolderLock(key, "frames folder").__enter__()
            entry = _held[key] = [lock, 0]
            remove_stale_parts(key)  # temporary files of killed runs: nobody else can be writing now
        entry[1] += 1
    try:
        yield
    finally:
        with _held_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                entry[0].__exit__(None, None, None)


def read_manifest(frames_dir: str | os.PathLike) -> dict | None:
    """The ``manifest.json`` of a frames folder, None if there is none.

    Raises
    ------
    VideoError
        The manifest cannot be read (say, a disk that filled up): run again with ``restart``.
    """
    path = Path(frames_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, OSError) as exc:
        raise VideoError(f"{path} is damaged and cannot be read ({exc}). Run again with restart=True "
                         "(command line: --restart) to start this folder afresh.") from None
    return manifest


def write_manifest(frames_dir: Path, manifest: dict) -> None:
    """Save ``manifest`` as the folder's ``manifest.json``, atomically (a crash leaves the old one)."""
    write_bytes(frames_dir / MANIFEST, json.dumps(manifest, indent=1).encode())


def folder_identity(info: VideoInfo, settings: dict) -> dict:
    """What must match for frames to be reused: the video file and the settings."""
    stat = info.path.stat()
    return {"version": MANIFEST_VERSION,
            "video": {"source": str(info.path.resolve()), "bytes": stat.st_size, "mtime": stat.st_mtime,
                      "width": info.width, "height": info.height},
            "settings": settings}


def settings_name(settings: dict) -> str:
    """The name of the frames folder for ``settings``: what changes the colours, readable, and short.

    Frames made with other settings go to a folder of their own (``colorized_frames/<video>/<this>``),
    so an exact and a fast run of one video, or two temperatures, live side by side.

    Examples
    --------
    >>> settings_name({"mode": "fast", "keyframe_interval": 32, "temperature": 0.38373, "size": 224,
    ...                "deinterlace": "auto", "model": "colorization_release_v2.caffemodel in /m, 128946764 bytes"})
    'fast-K32_T0.38373_224px_e4dae5'
    """
    mode = settings.get("mode", "exact")
    name = mode + (f"-K{settings['keyframe_interval']}" if mode == "fast" else "")
    name += f"_T{settings['temperature']:g}_{settings['size']}px"
    if settings.get("deinterlace", "auto") != "auto":
        name += f"_deinterlace-{settings['deinterlace']}"
    if settings.get("smooth"):
        name += f"_smooth{settings['smooth']:g}"
    if settings.get("restore"):
        name += "_restore-" + "-".join(settings["restore"])
    # the model (weights, folder, size, runtime) in a few letters: another model is another folder
    return name + "_" + hashlib.blake2b(str(settings["model"]).encode(), digest_size=3).hexdigest()


def prepare_frames_folder(frames_dir: Path, identity: dict, restart: bool) -> tuple[dict, int]:
    """Check (or with ``restart``, clear) the frames folder; returns its manifest and how many frames
    ``restart`` deleted. Call with the lock held."""
    deleted = 0
    try:
        old = read_manifest(frames_dir)
    except VideoError:
        if not restart:
            raise
        old = {}
    same = old is not None and all(old.get(key) == value for key, value in identity.items())
    if old is not None and not same:
        if not restart:
            changed = _differences(old, identity)
            raise VideoError(
                f"{frames_dir} holds frames of another video or other settings (different: {', '.join(changed)}). "
                "To keep them, choose another frames folder; to replace them, run again with restart=True "
                "(command line: --restart).")
        for old_frame in frames_dir.glob("frame_*.png"):
            old_frame.unlink()
            deleted += 1
        for cell, old_segment in segment_files(frames_dir).items():
            old_segment.unlink()
            deleted += len(cell)
    elif old is None and (any(frames_dir.glob("frame_*.png")) or segment_files(frames_dir)):
        raise VideoError(f"{frames_dir} holds frames without a {MANIFEST}: they may belong to another video. "
                         "Move them away or choose another frames folder.")
    manifest = dict(old) if same else {**identity, "time_base": None, "pts": [], "frame_count": None}
    write_manifest(frames_dir, manifest)
    return manifest, deleted


def _differences(old: dict, new: dict) -> list[str]:
    if old.get("version") != new["version"]:
        return ["made by an older version of this tutorial"]
    return sorted(key for section in ("video", "settings") for key, value in new[section].items()
                  if (old.get(section) or {}).get(key) != value)


class TimestampRecorder:
    """Records each decoded frame's timestamp into the manifest as frames stream past."""

    def __init__(self, manifest: dict, info: VideoInfo) -> None:
        self.manifest = manifest
        manifest["time_base"] = str(info.time_base)
        manifest["fps"] = info.fps  # for the length of the last frame of a one-frame video
        # pixel shape, for the output; turned with the picture
        manifest["sample_aspect"] = str(info.shown_sample_aspect)
        self.pts: list = manifest["pts"]

    def record(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        """Pass ``frames`` on unchanged, writing each one's ``pts`` into the manifest (not yet to disk)."""
        for frame in frames:
            self.add(frame.index, frame.pts)
            yield frame

    def knows(self, index: int) -> bool:
        """Whether the time of frame ``index`` (0-based) is recorded."""
        return index < len(self.pts) and self.pts[index] is not None

    def add(self, index: int, pts: int) -> None:
        """Record the ``pts`` of frame ``index`` (0-based), decoded elsewhere (a Dask worker)."""
        if len(self.pts) <= index:
            self.pts.extend([None] * (index + 1 - len(self.pts)))
        self.pts[index] = pts


def numbered_frames(frames_dir: Path, *, complete: bool = True) -> list[tuple[int, Path]]:
    """``(number, path)`` of every ``frame_*.png`` in the folder, in order.

    With ``complete``, a VideoError if there are none or some are missing between the first and the last.
    """
    found = sorted((int(p.stem.split("_")[1]), p) for p in Path(frames_dir).glob("frame_*.png"))
    if not complete:
        return found
    if not found:
        raise VideoError(f"No frame_*.png files in {frames_dir}: colourise the frames first.")
    numbers = [n for n, _ in found]
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise VideoError(f"{len(missing)} frame(s) missing in {frames_dir}: {shown}. Run the colourisation again "
                         "to fill them in.")
    return found
