"""Command line for batch work: ``python -m helpers fetch|photo|video ...`` (``--help`` on each)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from .backends import BACKENDS, backend_label
from .colorize import DEFAULT_SIZE, check_size, colorize, colour_under_alpha
from .fetch import MIRROR_ENV, MODEL_DIR_ENV, ModelDownloadError, known_variants
from .files import FolderInUseError, remove_stale_parts
from .image_files import (
    FORMATS,
    IMAGE_EXTENSIONS,
    SEVERAL_PICTURES,
    TRANSPARENCY,
    ImageFile,
    OutputFolderError,
    Picture,
    check_output_folder,
    is_result,
    open_image_file,
    write_pictures,
)
from .keyframes import KEYFRAME_INTERVAL
from .model import (
    DEFAULT_TEMPERATURE,
    ModelLoadError,
    describe_model,
    get_model_files,
    is_standin,
    load_model,
    onnx_file_of,
    opencv_reads_caffe,
)
from .opencv_install import OpenCvInstallError, OpenCvInstallWarning, check_opencv
from .paths import COLORIZED_IMAGES
from .photo_restore import PHOTO_STEPS
from .photo_restore_files import is_restore_mask, mask_path, restore_picture, write_mask
from .restoration import RESTORE_STEPS
from .retime import FACTORS, change_frame_rate, check_rate
from .video import Stopped, VideoError, colorize_video, model_name, output_path, probe_video
from .video_io import CONTAINERS, DEINTERLACE

ENVIRONMENT = (
    (f"{MODEL_DIR_ENV}=DIR", "use the model files in DIR as they are (no download, no hash check), e.g. your "
     "own Caffe model with the same layer names, or a stand-in from `make standin`"),
    (f"{MIRROR_ENV}=DIR|URL", "try this folder or URL base first when fetching (a classroom copy)"),
    ("COLORIZE_OUTPUT_DIR=DIR", "put colorized_images/, colorized_frames/ and colorized_videos/ (the default "
     "output folders) in DIR instead of the repository"),
    ("COLORIZE_CACHE_DIR=DIR", "where --backend auto remembers which back end it chose (default: your user cache "
     "folder, e.g. ~/.cache/colorize-tutorial); delete it to check again"),
    ("DASK_SCHEDULER_ADDRESS=ADDR", "photo and video run on this Dask cluster (tcp://host:8786), as with "
     "--scheduler, unless --workers is given"),
)
"""The environment variables the command line reads: (NAME=VALUE, what it does)."""


def _environment_help(width: int = 79) -> str:
    """ENVIRONMENT as an epilog: names in one column, their descriptions aligned in the next."""
    column = max(len(name) for name, _ in ENVIRONMENT) + 4
    lines = ["environment variables:"]
    for name, text in ENVIRONMENT:
        first, *more = textwrap.wrap(text, width - column)
        lines.append(f"  {name:<{column - 2}}{first}")
        lines += [" " * column + line for line in more]
    return "\n".join(lines) + "\n"


ENVIRONMENT_HELP = _environment_help()


def _whole_number(minimum: int):
    """An argparse type: an integer >= ``minimum``, checked before anything is loaded."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _frame_rate(text: str) -> float:
    """An argparse type: frames per second for ``--fps`` (``retime.check_rate``)."""
    try:
        fps = float(text)
        check_rate(fps, None)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc) if "rate" in str(exc) else f"expected a number, got {text!r}") \
            from None
    return fps


def _factor(text: str) -> int:
    """An argparse type: ``2x`` (or ``2``) for ``--interpolate``."""
    try:
        factor = int(text.lower().removesuffix("x"))
        check_rate(None, factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {', '.join(f'{f}x' for f in FACTORS)}, got {text!r}") from None
    return factor


def _network_size(text: str) -> int:
    value = _whole_number(32)(text)
    try:
        check_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


BACKEND_HELP = ("what runs the network. auto (default): the fastest runtime whose colours match OpenCV's on "
                "this machine, int8 or bf16 only if within mean |Δab| 2 on the sample photos; checked on the "
                "first run (10-20 s), then remembered. opencv: OpenCV's DNN module, as notebook 02 teaches. "
                "openvino, onnxruntime: that runtime (onnxruntime: `pip install -e .[fast]`)")


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


def _variant_option() -> argparse.ArgumentParser:
    """``--variant``, with the choices and their notes from model/registry.json (fetch, photo, video)."""
    variants = known_variants()
    option = argparse.ArgumentParser(add_help=False)
    default = next(iter(variants))
    notes = "; ".join(f"{name}: {note}" for name, note in variants.items())
    option.add_argument_group("the model").add_argument(
        "--variant", choices=list(variants), default=default, help=f"which model weights: {notes} (default: {default})")
    return option


def _network_options(variant: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options that choose and tune the network, shared by photo and video."""
    options = argparse.ArgumentParser(add_help=False, parents=[variant])
    group = options.add_argument_group("the network")
    group.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE, metavar="T",
                       help="annealed-mean temperature: lower is more vivid and patchy, 1 is the "
                       f"plain mean, greyish (default: {DEFAULT_TEMPERATURE:.4f} = 1/2.606, the paper's 0.38)")
    group.add_argument("--size", type=_network_size, default=DEFAULT_SIZE, metavar="N",
                       help="network input size in pixels, a multiple of 8 from 32 to 1024; time grows with N^2 "
                       f"(default: {DEFAULT_SIZE}, the training size)")
    group.add_argument("--backend", choices=("auto", *BACKENDS), default="auto", help=BACKEND_HELP)
    return options


def _cluster_options() -> argparse.ArgumentParser:
    """``--workers`` and ``--scheduler``: spread the work over Dask workers (photo and video)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("more than one process or machine (Dask)").add_mutually_exclusive_group()
    group.add_argument("--workers", type=_whole_number(1), metavar="N",
                       help="start N worker processes on this machine (a Dask LocalCluster on 127.0.0.1 only; its "
                       "dashboard link is printed); each gets cores / N threads. Same frames as one process")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="use a running Dask cluster instead (tcp://host:8786; default: $DASK_SCHEDULER_ADDRESS). "
                       "The workers must see the input files at the same path (a shared folder); they get the "
                       "model from this machine if they cannot see it. See the README, \"More than one machine\"")
    return options


@contextmanager
def _dask_client(args: argparse.Namespace):
    """Start (or reach) the Dask cluster that ``--workers`` or ``--scheduler`` ask for, in the background
    while the model loads. Yields a function that waits for it and returns its client (None: one
    process, no Dask); the cluster is closed after."""
    from .cluster import SCHEDULER_ENV

    address = args.scheduler or (None if args.workers else os.environ.get(SCHEDULER_ENV))
    if not args.workers and not address:
        yield lambda: None
        return
    from . import cluster

    cluster.quiet_logs()
    pool = ThreadPoolExecutor(max_workers=1)
    starting = pool.submit(cluster.start_cluster, args.workers) if args.workers else pool.submit(cluster.connect,
                                                                                                  address)

    def ready():
        client = starting.result()
        if not getattr(ready, "said", False):
            print(cluster.describe(client))
            ready.said = True
        return client

    try:
        yield ready
    finally:
        pool.shutdown(wait=True)
        if starting.exception() is None:
            client = starting.result()
            client.close()
            if args.workers:
                client.cluster.close()


def _command(commands, name: str, *, help: str, description: str, examples: str = "",
             parents: tuple[argparse.ArgumentParser, ...] = ()) -> argparse.ArgumentParser:
    """A sub-command whose --help ends with its examples and the environment variables."""
    epilog = (f"{examples}\n\n" if examples else "") + ENVIRONMENT_HELP
    return commands.add_parser(name, help=help, description=textwrap.fill(description, 79), epilog=epilog,
                               parents=list(parents),
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers",
        description="Colourise black-and-white photos with the Zhang et al. (2016) network.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    variant = _variant_option()
    network = _network_options(variant)
    dask = _cluster_options()

    fetch = _command(
        commands, "fetch", parents=(variant,),
        help="download the model files into model/ (skips files already there and verified)",
        description="Download the model files into model/, trying each mirror in turn and "
        "verifying every file's hash. Files already present and correct are kept. With OpenCV 5, "
        "which no longer reads Caffe files, the network is also written as ONNX beside them (once).",
    )
    fetch.add_argument("--mirror", metavar="DIR_OR_URL",
                       help=f"a folder or URL base to try first (default: ${MIRROR_ENV})")
    fetch.add_argument("--onnx", action="store_true",
                       help="also write the ONNX file with OpenCV 4 (with OpenCV 5 it is always written)")

    photo = _command(commands, "photo", help="colourise image files and folders", description=PHOTO_DESCRIPTION,
                     examples=PHOTO_EXAMPLES, parents=(network, dask))
    photo.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                       help=f"image files or folders ({', '.join(IMAGE_EXTENSIONS)})")
    photo.add_argument("--out", type=Path, default=COLORIZED_IMAGES, metavar="DIR",
                       help="output folder, created if needed (default: colorized_images/)")
    photo.add_argument("--restore", nargs="*", choices=PHOTO_STEPS, metavar="STEP",
                       help="restore the gray picture before colouring it: dust (specks), scratches (scratches, "
                       "hairs, creases), grain; --restore alone runs every step. What was filled is written "
                       "beside each result as <name>_color_restore-mask.png (white: filled), to check")

    app = _command(commands, "app", help="a web page for a class: phones send photos, the class sees them in colour",
                   description=APP_DESCRIPTION, examples=APP_EXAMPLES, parents=(network,))
    app.add_argument("--host", default="127.0.0.1",
                     help="the address to listen on: 127.0.0.1 (default) is this computer only; 0.0.0.0 is every "
                     "network it is on (the classroom's Wi-Fi). Any other than 127.0.0.1 requires the access code")
    app.add_argument("--port", type=_whole_number(0), default=8000, help="the port (default: 8000; 0: any free one)")
    app.add_argument("--code", metavar="CODE",
                     help="the access code (default: 6 random letters, printed at the start); required with --host")

    video = _command(commands, "video", help="colourise a video, keeping its sound", description=VIDEO_DESCRIPTION,
                     examples=VIDEO_EXAMPLES, parents=(network, dask))
    video.add_argument("input", type=Path, metavar="INPUT", help="the black-and-white video")
    video.add_argument("--out", metavar="FILE|DIR",
                       help=f"the colourised video: a file ending in {', '.join(CONTAINERS)} (.mp4 plays in "
                       "browsers, .mkv keeps any sound codec as it is), or a folder (existing, or ending in /) for "
                       "<folder>/<name>_color.mp4; never the input (default: colorized_videos/<name>_color.mp4)")
    video.add_argument("--frames-dir", type=Path, metavar="DIR",
                       help="where the encoded segments go (default: colorized_frames/<name>/<settings>/, a "
                       "folder per mode, temperature, size and model)")
    video.add_argument("--max-frames", type=_whole_number(1), metavar="N",
                       help="only the first N frames (a quick preview)")
    video.add_argument("--start", type=_whole_number(0), default=0, metavar="N",
                       help="skip the first N frames (default: 0)")
    video.add_argument("--mode", choices=["exact", "fast"], default="exact",
                       help="exact: the network on every frame (default); fast: the network on keyframes "
                       "only, colour carried along the optical flow in between (a network pass per 13 to 16 "
                       "frames on the sample clips; python -m bench.one_pass measures the speed on this machine)")
    video.add_argument("--keyframe-interval", type=_whole_number(1), default=KEYFRAME_INTERVAL, metavar="K",
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
    rate = video.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=_frame_rate, metavar="RATE",
                      help="bring the colourised video to RATE frames a second (24, 25, 30, 50, 60...): new frames "
                      "made along the optical flow, the sound as it is; old film transferred by repeating frames "
                      "(16 frames/s shown at 25) loses its repeats first and plays smoothly at its real speed")
    rate.add_argument("--interpolate", type=_factor, metavar="2x",
                      help="multiply the frame rate: a new frame between each two (2x), or two (3x) or three (4x)")
    video.add_argument("--shot-at", type=_frame_rate, metavar="RATE",
                       help="the film was shot at RATE frames a second (silent film: 16-18) but is stored with each "
                       "frame once at a higher rate, so it plays too fast: show each frame for 1/RATE s (the film "
                       "lasts longer; its sound, which would no longer match, is left out); with --fps, new frames "
                       "are made for that rate")
    video.add_argument("--keep-frames", action="store_true",
                       help="also keep every colourised frame as a PNG file in the frames folder, for retouching "
                       "(about 50 times the disk space of the segments)")
    video.add_argument("--restart", action="store_true",
                       help="in a --frames-dir of another video or other settings: delete its frames and segments "
                       "(the report says how many frames) instead of refusing")
    return parser


def _load(args: argparse.Namespace):
    """The network for a command: OpenCV's, or a faster back end (after its accuracy check);
    None, after saying why on stderr, when it cannot be loaded."""
    try:
        net = load_model(args.variant, temperature=args.temperature, backend=args.backend)
    except (ModelLoadError, RuntimeError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    print(f"Model ({backend_label(net)}): {describe_model(args.variant)}")
    return net


def _video(args: argparse.Namespace) -> int:
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
        with warnings.catch_warnings(), _dask_client(args) as dask:
            warnings.filterwarnings("ignore", message="Decoding stopped")  # the report says it, without a source line
            net = _load(args)
            if net is None:
                return 2
            report = colorize_video(info, net, out=coloured, frames_dir=args.frames_dir, size=args.size,
                                    model=model_name(net, args.variant), start=args.start, max_frames=args.max_frames,
                                    restart=args.restart, smooth=args.smooth, keep_frames=args.keep_frames,
                                    restore=_restore_steps(args, RESTORE_STEPS),
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
        return 130
    except KeyboardInterrupt:
        print("\nstopped; the finished segments are kept: run the same command to resume", file=sys.stderr)
        return 130
    finally:
        if retime:  # the video at the source's rate: the segments make it again in seconds
            coloured.unlink(missing_ok=True)
    return 1 if report.frames.decode_error else 0


def _fetch(args: argparse.Namespace) -> int:
    try:
        paths = get_model_files(args.variant, mirror=args.mirror)
    except (ModelDownloadError, ModelLoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = paths.weights.parent
    if paths.managed:
        names = ", ".join(p.name for p in (paths.prototxt, paths.points, paths.weights))
        print(f"Model {args.variant} ready in {where}: {names}")
    else:
        print(f"{MODEL_DIR_ENV} is set: using the model files in {where} as they are, nothing is downloaded. "
              f"They are {describe_model(args.variant)}.")
    if args.onnx or not opencv_reads_caffe():
        try:
            onnx = onnx_file_of(paths)
        except (ModelLoadError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"The same network as ONNX, for OpenCV 5: {onnx}")
    return 0


def _collect(inputs: list[Path]) -> tuple[list[Path], list[str], list[Path]]:
    """Expand folders into their image files; return (files, error messages, results skipped).

    In folders, this tool's own earlier results are skipped (``image_files.is_result``), so a
    second run into the same folder adds nothing; files named on the command line are always
    taken. A file named twice, or also found in a named folder, is taken once.
    """
    files, errors, skipped, seen = [], [], [], set()
    for path in inputs:
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            found = [p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS]
            others = sorted({p.suffix.lower() or p.name for p in entries} - set(IMAGE_EXTENSIONS))
            if not found:
                seen_here = f"; it holds {', '.join(others)}" if others else ""
                errors.append(f"{path}: no image files in this folder (this tool reads {', '.join(IMAGE_EXTENSIONS)}"
                              f"{seen_here})")
            elif others:
                print(f"{path}: skipping the files that are not pictures this tool reads ({', '.join(others)})")
            results = [p for p in found if is_result(p) or is_restore_mask(p)]
            skipped += results
            candidates = [p for p in found if p not in results]
        elif path.exists():
            candidates = [path]
        else:
            errors.append(f"{path}: no such file or folder")
            continue
        for candidate in candidates:
            if candidate.resolve() not in seen:
                seen.add(candidate.resolve())
                files.append(candidate)
    return files, errors, skipped


def _output_path(src: Path, out_dir: Path, taken: set[Path]) -> Path:
    """``<name>_color.<ext>`` in ``out_dir``, or ``<name>_color_2.<ext>``... when that name is an
    input, another result of this run, or a file that is not an earlier result of this tool."""
    suffix = src.suffix if src.suffix.lower() in IMAGE_EXTENSIONS else ".png"
    n = 1
    while True:
        dest = out_dir / (f"{src.stem}_color{suffix}" if n == 1 else f"{src.stem}_color_{n}{suffix}")
        # An earlier result is replaced; BMP cannot carry the mark that tells results apart.
        replaceable = not dest.exists() or is_result(dest) or (dest.is_file() and FORMATS[suffix.lower()] == "BMP")
        if dest.resolve() not in taken and replaceable:
            taken.add(dest.resolve())
            return dest
        n += 1


def _photo_notes(count: int, results: list[Picture], dest: Path) -> str:
    """What a learner should know about one result: pictures kept or not, transparency."""
    fmt = FORMATS[dest.suffix.lower()]
    notes = []
    if len(results) > 1:
        notes.append(f"all {len(results)} pages" if fmt == "TIFF" else f"all {len(results)} frames, with their times")
    elif count > 1:
        notes.append(f"only the first of its {count} pictures: a {fmt} file holds one")
    if any(p.alpha is not None for p in results):
        notes.append("transparency kept" if fmt in TRANSPARENCY else f"transparent parts made white: {fmt} has none")
    return f" ({'; '.join(notes)})" if notes else ""


def _colorize_file(src: Path, keep_all: bool, net, size: int,
                   restore: tuple[str, ...] = ()) -> tuple[ImageFile, list[Picture], list]:
    """The file, its pictures colourised (restored first if asked), and the masks of what was restored."""
    source = open_image_file(src)
    keep = source.count if keep_all else 1
    # One picture at a time: bench/photo_speed.py shows batches save nothing on a CPU.
    # A bar for animations and scans of many pages (in a terminal only).
    pictures = tqdm(islice(source.pictures(), keep), total=keep, desc=src.name, unit="picture", leave=False,
                    disable=None if keep > 1 else True)
    restored = [restore_picture(p, restore) if restore else (p, None) for p in pictures]
    return source, [replace(p, image=colour_under_alpha(p, colorize(p.image, net, size=size))) for p, _ in restored], \
        [mask for _, mask in restored if mask is not None]


def _colorized_files(jobs: list[tuple[Path, bool]], net, args: argparse.Namespace, client):
    """``(index in jobs, (count, loop, dpi, pictures, restore masks) or None, error message or None)`` for
    each file, colourised here, or on Dask workers (in the order they finish; no --restore there)."""
    if client is not None and args.restore is not None:
        print("photo --restore runs on this machine, not on the Dask workers.")
    elif client is not None:
        from .cluster import colorize_files

        notes: list[str] = []  # workers that were refused
        for n, r in colorize_files(client, net, jobs, size=args.size, variant=args.variant, notes=notes):
            yield n, (r.count, r.loop, r.dpi, r.pictures, []), r.error
        for line in notes:
            print(line)
        return
    for n, (src, keep_all) in enumerate(jobs):
        try:
            source, results, masks = _colorize_file(src, keep_all, net, args.size, _restore_steps(args, PHOTO_STEPS))
        except MemoryError:
            yield n, None, "not enough memory to colourise this picture: shrink it, or close other programs"
        except (OSError, ValueError) as exc:
            yield n, None, str(exc)
        else:
            yield n, (source.count, source.loop, source.dpi, results, masks), None


def _restore_steps(args: argparse.Namespace, every: tuple[str, ...]) -> tuple[str, ...]:
    """The restoration steps ``--restore`` asks for (photo or video): ``every`` one for ``--restore`` alone,
    none without it."""
    return every if args.restore == [] else tuple(args.restore or ())


def _photo(args: argparse.Namespace) -> int:
    files, errors, skipped = _collect(args.inputs)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    if skipped:
        print(f"Skipped {len(skipped)} earlier result(s) of this tool ({', '.join(p.name for p in skipped[:3])}"
              f"{', ...' if len(skipped) > 3 else ''}); name a file to colourise it anyway.")
    if not files:
        print("Nothing to colourise.")
        return 1 if errors else 0
    try:  # once, before the model loads, rather than once per picture
        check_output_folder(args.out)
    except OutputFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = 0
    try:
        with _dask_client(args) as dask:
            net = _load(args)
            if net is None:
                return 2
            remove_stale_parts(args.out)  # temporary files of a run that was killed
            taken = {f.resolve() for f in files}
            dests = [_output_path(src, args.out, taken) for src in files]
            jobs = [(src, FORMATS[dest.suffix.lower()] in SEVERAL_PICTURES) for src, dest in zip(files, dests)]
            for n, made, message in _colorized_files(jobs, net, args, dask()):
                src, dest = files[n], dests[n]
                if message is None:
                    count, loop, dpi, results, masks = made
                    try:
                        write_pictures(dest, results, loop=loop, dpi=dpi)
                        mask, filled = mask_path(dest), ""
                        if masks and mask.resolve() not in taken and (not mask.exists() or is_restore_mask(mask)):
                            write_mask(mask, masks)  # never over an input or your own file
                            share = max(float(m.mean()) for m in masks)  # of a picture; a file may hold several
                            filled = (f"; restored: {'up to ' if len(masks) > 1 else ''}{share:.2%} of it filled, "
                                      f"white in {mask.name}")
                    except (OSError, ValueError) as exc:
                        message = str(exc)
                    else:
                        print(f"{src} -> {dest}{_photo_notes(count, results, dest)}{filled}")
                        done += 1
                        continue
                errors.append(message)
                print(f"error: {src}: {message}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\nInterrupted after {done} image(s); they are in {args.out} (no half-written files are left).",
              file=sys.stderr)
        return 130
    except (ModelLoadError, OSError) as exc:  # the workers cannot load the model; the cluster cannot be reached
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = len(errors)
    summary = f"; {failed} failed (see errors above)." if failed else "."
    print(f"\n{done} image(s) colourised into {args.out}{summary}")
    return 1 if failed else 0


def _app(args: argparse.Namespace) -> int:
    from . import classroom

    local = args.host in ("127.0.0.1", "localhost", "::1")
    code = (args.code.strip().upper() if args.code else classroom.access_code()) if not local or args.code else None
    net = _load(args)
    if net is None:
        return 2
    folder = classroom.session_folder()  # this session's uploads, removed at the end
    for name in ("SIGTERM", "SIGHUP"):  # `kill`, a closed terminal: stop as Ctrl+C does, deleting the uploads
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)

    teacher = classroom.teacher_key()

    def ready(url: str, queue) -> None:
        join = classroom.join_url(args.host, url, code)
        print(f"\nClassroom app: {join}")
        print(f"Your page, the teacher's (keep it to yourself: hide or remove any photo, pause, clear): "
              f"{classroom.join_url(args.host, url, None)}teacher?key={teacher}")
        if code:
            print(f"Access code: {code}  (students scan this QR code, or open the address and type the code)")
            print(classroom.qr_text(join))
        else:
            print("Only this computer can open it; start with --host 0.0.0.0 to let the class join.")
        print(f"Uploads are kept in {folder} until the app stops. Stop with Ctrl+C.", flush=True)

    try:
        standin = is_standin(args.variant)
        classroom.serve(net, host=args.host, port=args.port, folder=folder, size=args.size, code=code,
                        teacher=teacher, ready=ready,
                        notice="This app runs a STAND-IN model with random weights: its colours are noise, for "
                        "testing only." if standin else None)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc} (another program uses the "
              "port? try --port 8001)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped; this session's uploads are deleted.")
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _opencv_works() -> bool:
    """Check OpenCV before any work; False after saying on stderr what is wrong and how to repair it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OpenCvInstallWarning)
        try:
            check_opencv()
        except OpenCvInstallError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return False
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    return True


def _files_before_restore(argv: list[str]) -> list[str]:
    """``argv`` with the file names typed after ``--restore`` moved in front of it.

    ``--restore`` takes any number of step names, so argparse would read ``video --restore clip.mp4``'s
    file as a step ("invalid choice"). A word there that is no step name and looks like a file (it has a
    dot or a slash, which no step name has, or it exists) goes before ``--restore`` instead; a step name
    stays a step (a file named ``dust`` is ``./dust``), and an unknown word stays too: argparse names the
    steps there are.

    Example: ``_files_before_restore(["video", "--restore", "a.mp4"]) == ["video", "a.mp4", "--restore"]``
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_files_before_restore(sys.argv[1:] if argv is None else argv))
    if not _opencv_works():
        return 2
    return {"app": _app, "fetch": _fetch, "photo": _photo, "video": _video}[args.command](args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # between the commands' own handlers (parsing, starting): one line, no traceback
        print("\nstopped", file=sys.stderr)
        sys.exit(130)
