"""``python -m helpers video``: a video colourised in one resumable pass, then its frame rate (the command line)."""

from __future__ import annotations

import argparse
import sys
import warnings

from ..common.files import FolderInUseError
from ..media.probe import VideoError, probe_video
from ..model.model_files import ModelLoadError
from ..restoration.retime import change_frame_rate
from ..restoration.steps import RESTORE_STEPS
from ..video.options import model_name
from ..video.pipeline import colorize_video
from ..video.reassemble import output_path
from ..video.reports import Stopped
from .start import NOT_STARTED, STOPPED, dask_client, load_network, restore_steps


def video_command(args: argparse.Namespace) -> int:
    """``video``: ``args.input`` colourised (restored first, its frame rate changed after, if asked); the exit
    status (0 done, 1 not fully read or written, 2 the model could not be loaded, 130 stopped)."""
    try:
        info = probe_video(args.input)
        out = output_path(info.path, args.out)  # refused before any work: the input itself, a bad suffix
    except (OSError, VideoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(info.describe())
    retime = args.fps is not None or args.interpolate is not None or args.shot_at is not None
    coloured = out.with_name(f".{out.stem}.source-rate{out.suffix}") if retime else out  # a step on the way
    try:
        with warnings.catch_warnings(), dask_client(args) as dask:
            warnings.filterwarnings("ignore", message="Decoding stopped")  # the report says it, without a source line
            net = load_network(args)
            if net is None:
                return NOT_STARTED
            report = colorize_video(info, net, out=coloured, frames_dir=args.frames_dir, size=args.size,
                                    temperature=args.temperature,
                                    model=model_name(net, args.variant), start=args.start, max_frames=args.max_frames,
                                    restart=args.restart, smooth=args.smooth, keep_frames=args.keep_frames,
                                    restore=restore_steps(args, RESTORE_STEPS),
                                    mode=args.mode, keyframe_interval=args.keyframe_interval,
                                    deinterlace=args.deinterlace, client=dask(), variant=args.variant)
            print(report)
            if retime:
                print(f"{coloured.name} is a step on the way (deleted at the end); now the new frame rate:")
                print(change_frame_rate(coloured, out, fps=args.fps, factor=args.interpolate, shot_at=args.shot_at))
    except (OSError, VideoError, FolderInUseError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Stopped as exc:
        print(f"\n{exc}", file=sys.stderr)
        return STOPPED
    except KeyboardInterrupt:
        print("\nstopped; the finished segments are kept: run the same command to resume", file=sys.stderr)
        return STOPPED
    finally:
        if retime:  # the video at the source's rate: the segments make it again in seconds
            coloured.unlink(missing_ok=True)
    return 1 if report.frames.decode_error else 0
