"""The ``python -m helpers`` parser: one function per sub-command adds its arguments (the command line)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..common.image_files import IMAGE_EXTENSIONS
from ..media.encode import CONTAINERS
from ..media.probe import DEINTERLACE
from ..model.fetch import MIRROR_ENV
from ..paths import COLORIZED_IMAGES
from ..restoration.photo_restore import PHOTO_STEPS
from ..restoration.steps import RESTORE_STEPS
from ..video.keyframes import KEYFRAME_INTERVAL
from .options import (
    ENVIRONMENT_HELP,
    add_command,
    cluster_options,
    factor,
    frame_rate,
    network_options,
    variant_option,
    whole_number,
)

FETCH_DESCRIPTION = (
    "Download the model files into model/, trying each mirror in turn and "
    "verifying every file's hash. Files already present and correct are kept. With OpenCV 5, "
    "which no longer reads Caffe files, the network is also written as ONNX beside them (once)."
)

PHOTO_DESCRIPTION = (
    "Colourise image files, or every image in the given folders (not their "
    "subfolders). Each result is written as <name>_color.<ext> at the input's full "
    "resolution, as a file of the same kind: an animation (GIF, WebP, PNG) stays animated "
    "with its frame times, a multi-page TIFF keeps every page, and transparency is kept "
    "(PNG, WebP, TIFF, GIF); transparent parts are coloured as viewers show them, over white. "
    "Inputs, and files that are not results of this tool, are never overwritten. In folders, "
    "earlier results of this tool are skipped, so running twice adds nothing. A file that "
    "fails is reported and the others are still processed. Exit status: 0 all done, 1 some "
    "files failed, 2 nothing was done (a bad option, an unusable output folder, or the model "
    "could not be loaded)."
)
PHOTO_EXAMPLES = "example:\n  python -m helpers photo input_images --out colorized_images"

APP_DESCRIPTION = (
    "Start the classroom web app: students open the address on their phones, take or choose a "
    "photo, and get it back in colour with a before/after wipe, a temperature slider and a "
    "download button; the gallery of the session's photos can go on the projector. One process "
    "and one network serve everyone, with a queue (each page shows its place in it). By default "
    "only this computer can open it; with --host it needs the access code, printed at the start "
    "with a QR code for phones. Uploads are checked by content (image types only, size limits), "
    "kept only in this session's folder, and deleted when the app stops or a student removes "
    "theirs. Stop with Ctrl+C."
)
APP_EXAMPLES = (
    "examples:\n  python -m helpers app                  # try it: http://localhost:8000/\n"
    "  python -m helpers app --host 0.0.0.0   # the class joins over the room's Wi-Fi"
)

VIDEO_DESCRIPTION = (
    "Colourise every frame of a video in one pass: decoded, colourised and encoded as H.264 "
    "in segments of a few seconds (so an interrupted run, Ctrl+C or a crash, resumes from the "
    "last finished segment, and the work folder takes about the size of the output), then "
    "joined without re-encoding, with every sound stream of the original, each frame at its "
    "original time (variable frame rate is kept). Interlaced video (most digitised tape) is "
    "deinterlaced first. Any container FFmpeg reads works (MP4, MKV, WebM, MPEG-TS, AVI, "
    "MOV...). Exit status: 0 done, 1 the video could not be (fully) read or written, or its "
    "frames folder is in use by another run, 2 bad options or the model could not be loaded, "
    "130 stopped with Ctrl+C."
)
VIDEO_EXAMPLES = (
    "examples:\n  python -m helpers video input_video/sample_clip.mp4\n"
    "  python -m helpers video old_film.mp4 --max-frames 48   # a 2-second preview\n"
    "  python -m helpers video old_film.mp4 --restore --fps 24  # restored, coloured, then at 24 frames/s\n"
    "  python -m helpers video tape.mkv --out results/        # -> results/tape_color.mp4"
)


def add_fetch(commands, variant: argparse.ArgumentParser) -> None:
    """``fetch`` and its options, after ``variant`` (``--variant``)."""
    fetch = add_command(commands, "fetch", parents=(variant,),
                        help="download the model files into model/ (skips files already there and verified)",
                        description=FETCH_DESCRIPTION)
    fetch.add_argument("--mirror", metavar="DIR_OR_URL",
                       help=f"a folder or URL base to try first (default: ${MIRROR_ENV})")
    fetch.add_argument("--onnx", action="store_true",
                       help="also write the ONNX file with OpenCV 4 (with OpenCV 5 it is always written)")


def add_photo(commands, network: argparse.ArgumentParser, dask: argparse.ArgumentParser) -> None:
    """``photo`` and its options, after the network's (``network``) and Dask's (``dask``)."""
    photo = add_command(commands, "photo", help="colourise image files and folders", description=PHOTO_DESCRIPTION,
                        examples=PHOTO_EXAMPLES, parents=(network, dask))
    photo.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                       help=f"image files or folders ({', '.join(IMAGE_EXTENSIONS)})")
    photo.add_argument("--out", type=Path, default=COLORIZED_IMAGES, metavar="DIR",
                       help="output folder, created if needed (default: colorized_images/)")
    photo.add_argument("--restore", nargs="*", choices=PHOTO_STEPS, metavar="STEP",
                       help="restore the gray picture before colouring it: dust (specks), scratches (scratches, "
                       "hairs, creases), grain; --restore alone runs every step. What was filled is written "
                       "beside each result as <name>_color_restore-mask.png (white: filled), to check")


def add_app(commands, network: argparse.ArgumentParser) -> None:
    """``app`` and its options, after the network's (``network``)."""
    app = add_command(commands, "app",
                      help="a web page for a class: phones send photos, the class sees them in colour",
                      description=APP_DESCRIPTION, examples=APP_EXAMPLES, parents=(network,))
    app.add_argument("--host", default="127.0.0.1",
                     help="the address to listen on: 127.0.0.1 (default) is this computer only; 0.0.0.0 is every "
                     "network it is on (the classroom's Wi-Fi). Any other than 127.0.0.1 requires the access code")
    app.add_argument("--port", type=whole_number(0), default=8000, help="the port (default: 8000; 0: any free one)")
    app.add_argument("--code", metavar="CODE",
                     help="the access code (default: 6 random letters, printed at the start); required with --host")


def add_video(commands, network: argparse.ArgumentParser, dask: argparse.ArgumentParser) -> None:
    """``video`` and its options, after the network's (``network``) and Dask's (``dask``), in the order
    ``--help`` lists them: what to read and write, how, the frame rate, what to keep."""
    video = add_command(commands, "video", help="colourise a video, keeping its sound",
                        description=VIDEO_DESCRIPTION, examples=VIDEO_EXAMPLES, parents=(network, dask))
    video.add_argument("input", type=Path, metavar="INPUT", help="the black-and-white video")
    video.add_argument("--out", metavar="FILE|DIR",
                       help=f"the colourised video: a file ending in {', '.join(CONTAINERS)} (.mp4 plays in "
                       "browsers, .mkv keeps any sound codec as it is), or a folder (existing, or ending in /) for "
                       "<folder>/<name>_color.mp4; never the input (default: colorized_videos/<name>_color.mp4)")
    video.add_argument("--frames-dir", type=Path, metavar="DIR",
                       help="where the encoded segments go (default: colorized_frames/<name>/<settings>/, a "
                       "folder per mode, temperature, size and model)")
    video.add_argument("--max-frames", type=whole_number(1), metavar="N",
                       help="only the first N frames (a quick preview)")
    video.add_argument("--start", type=whole_number(0), default=0, metavar="N",
                       help="skip the first N frames (default: 0)")
    _add_video_modes(video)
    _add_video_rates(video)
    video.add_argument("--keep-frames", action="store_true",
                       help="also keep every colourised frame as a PNG file in the frames folder, for retouching "
                       "(about 50 times the disk space of the segments)")
    video.add_argument("--restart", action="store_true",
                       help="in a --frames-dir of another video or other settings: delete its frames and segments "
                       "(the report says how many frames) instead of refusing")


def _add_video_modes(video: argparse.ArgumentParser) -> None:
    """``video``'s options for how its frames are made: exact or fast, deinterlaced, smoothed, restored."""
    video.add_argument("--mode", choices=["exact", "fast"], default="exact",
                       help="exact: the network on every frame (default); fast: the network on keyframes "
                       "only, colour carried along the optical flow in between (a network pass per 13 to 16 "
                       "frames on the sample clips; python -m bench.one_pass measures the speed on this machine)")
    video.add_argument("--keyframe-interval", type=whole_number(1), default=KEYFRAME_INTERVAL, metavar="K",
                       help="fast mode: at most K frames from one keyframe to the next; within that, keyframes go "
                       f"where carrying the colour is measured to fail (default: {KEYFRAME_INTERVAL})")
    video.add_argument("--deinterlace", choices=DEINTERLACE, default="auto",
                       help="auto: deinterlace the frames the video marks as interlaced (default); on: every "
                       "frame (tape captures marked progressive but showing comb lines); off: never")
    video.add_argument("--smooth", action="store_true",
                       help="smooth the colour over time (motion-compensated) to reduce flicker, in the same "
                       "pass (a frames folder of its own)")
    video.add_argument("--restore", nargs="*", choices=RESTORE_STEPS, metavar="STEP",
                       help="restore the gray frames before colouring them, in the same pass: deflicker "
                       "(luminance flicker of old film), dust (specks of dust and dirt in single frames), scratches "
                       "(thin vertical lines that stay put while the picture moves), grain (averaged away along "
                       "the motion); --restore "
                       f"alone runs every step ({' then '.join(RESTORE_STEPS)}; a frames folder of its own)")


def _add_video_rates(video: argparse.ArgumentParser) -> None:
    """``video``'s options for the frame rate of the result: ``--fps`` or ``--interpolate``, ``--shot-at``."""
    rate = video.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=frame_rate, metavar="RATE",
                      help="bring the colourised video to RATE frames a second (24, 25, 30, 50, 60...): new frames "
                      "made along the optical flow, the sound as it is; old film transferred by repeating frames "
                      "(16 frames/s shown at 25) loses its repeats first and plays smoothly at its real speed")
    rate.add_argument("--interpolate", type=factor, metavar="2x",
                      help="multiply the frame rate: a new frame between each two (2x), or two (3x) or three (4x)")
    video.add_argument("--shot-at", type=frame_rate, metavar="RATE",
                       help="the film was shot at RATE frames a second (silent film: 16-18) but is stored with each "
                       "frame once at a higher rate, so it plays too fast: show each frame for 1/RATE s (the film "
                       "lasts longer; its sound, which would no longer match, is left out); with --fps, new frames "
                       "are made for that rate")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m helpers``: a sub-command per command, each ``--help`` ending with the
    environment variables. The options several commands share are defined once (``options``)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers",
        description="Colourise black-and-white photos with the Zhang et al. (2016) network.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    variant = variant_option()
    network = network_options(variant)
    dask = cluster_options()
    add_fetch(commands, variant)
    add_photo(commands, network, dask)
    add_app(commands, network)
    add_video(commands, network, dask)
    return parser


def files_before_restore(argv: list[str]) -> list[str]:
    """``argv`` with the file names typed after ``--restore`` moved in front of it.

    ``--restore`` takes any number of step names, so argparse would read ``video --restore clip.mp4``'s
    file as a step ("invalid choice"). A word there that is no step name and looks like a file (it has a
    dot or a slash, which no step name has, or it exists) goes before ``--restore`` instead; a step name
    stays a step (a file named ``dust`` is ``./dust``), and an unknown word stays too: argparse names the
    steps there are.

    Example: ``files_before_restore(["video", "--restore", "a.mp4"]) == ["video", "a.mp4", "--restore"]``
    """
    steps = set(RESTORE_STEPS) | set(PHOTO_STEPS)
    out: list[str] = []
    at = None  # where the last ``--restore`` is in ``out``, while its step names follow
    for word in argv:
        if word.startswith("-"):
            at = len(out) if word == "--restore" else None
        elif at is not None and word not in steps and (set("./" + os.sep) & set(word) or os.path.exists(word)):
            out.insert(at, word)
            at += 1
            continue
        out.append(word)
    return out


