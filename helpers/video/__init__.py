"""Colourise a video frame by frame, never losing work, and put it back together with its sound.

The room's modules, in the order the pipeline uses them:

* ``options``: the options ``colorize_frames`` and ``colorize_video`` share, and the settings a
  frames folder records; ``reports``: what a run did.
* ``frames``: ``colorize_frames``, every frame as a PNG file in a frames folder
  (``frames_folder``: the manifest and lock that make a run resumable).
* ``smoothing``: ``measure_flicker`` and ``smooth_frames`` (the meter and the smoother are ``flicker``).
* ``reassemble``: ``frames_to_video``, the frames back into a video with its sound.
* ``pipeline``: ``colorize_video``, all in one pass: segments of a few seconds (``segments``),
  each decoded, coloured and encoded by one loop (``one_pass``; fast mode: ``keyframes``), here
  or on a Dask cluster (``on_cluster``).

Everything the notebook uses is importable from here: ``from helpers import video``.

Introduced in notebook 03_video.
"""

from ..media.decode import read_frames
from ..media.probe import VideoError, VideoInfo, probe_video
from .frames import colorize_frames
from .frames_folder import frame_path, frames_folder_lock, read_manifest
from .options import FrameOptions, VideoOptions, default_frames_dir, frame_settings, model_name
from .pipeline import colorize_video
from .reassemble import frames_to_video, output_path
from .reports import FramesReport, Stopped, VideoReport
from .smoothing import measure_flicker, smooth_frames

__all__ = ["VideoError", "VideoInfo", "probe_video", "read_frames", "colorize_frames", "frames_to_video",
           "colorize_video", "smooth_frames", "measure_flicker", "frame_path", "read_manifest", "output_path",
           "default_frames_dir", "frame_settings", "model_name", "Stopped", "FramesReport", "VideoReport",
           "FrameOptions", "VideoOptions", "frames_folder_lock"]
