"""Command line for batch work: ``python -m helpers fetch|photo|video ...`` (``--help`` on each)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .backends import BACKENDS
from .colorize import DEFAULT_SIZE, check_size, colorize
from .fetch import MIRROR_ENV, MODEL_DIR_ENV, ModelDownloadError
from .files import FolderInUseError
from .images import IMAGE_EXTENSIONS, read_image, write_image
from .keyframes import KEYFRAME_INTERVAL
from .model import DEFAULT_TEMPERATURE, ModelLoadError, get_model_files, load_model, model_id, model_paths
from .paths import COLORIZED_IMAGES
from .video import VideoError, colorize_video, output_path, probe_video
from .video_io import CONTAINERS, DEINTERLACE

ENVIRONMENT_HELP = f"""environment variables:
  {MODEL_DIR_ENV}=DIR     use the model files in DIR as they are (no download, no hash
                          check), e.g. your own Caffe model with the same layer names
  {MIRROR_ENV}=DIR|URL  try this folder or URL base first when fetching (a classroom copy)
"""


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


def _network_size(text: str) -> int:
    value = _whole_number(32)(text)
    try:
        check_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


BACKEND_HELP = ("opencv (default) or a faster runtime from `pip install -e .[fast]`; it uses int8 or bf16 only "
                "if they match fp32 on the sample photos (mean |Δab| <= 2), else fp32, and says which")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers",
        description="Colourise black-and-white photos with the Zhang et al. (2016) network.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = commands.add_parser(
        "fetch",
        help="download the model files into model/ (skips files already there and verified)",
        description="Download the model files into model/, trying each mirror in turn and "
        "verifying every file's hash. Files already present and correct are kept.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fetch.add_argument("--variant", choices=["v2", "v2_norebal"], default="v2",
                       help="v2: trained with colour rebalancing, vivid (default); "
                       "v2_norebal: without it, safer and browner")
    fetch.add_argument("--mirror", metavar="DIR_OR_URL",
                       help=f"a folder or URL base to try first (default: ${MIRROR_ENV})")

    photo = commands.add_parser(
        "photo",
        help="colourise image files and folders",
        description="Colourise image files, or every image in the given folders (not their "
        "subfolders). Each result is written as <name>_color.<ext> at the input's full "
        "resolution. Inputs are never overwritten; a file that fails is reported and the "
        "others are still processed. Exit status: 0 all done, 1 some files failed, "
        "2 the model could not be loaded.",
        epilog="example:\n  python -m helpers photo input_images --out colorized_images\n\n"
        + ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    photo.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                       help=f"image files or folders ({', '.join(IMAGE_EXTENSIONS)})")
    photo.add_argument("--out", type=Path, default=COLORIZED_IMAGES, metavar="DIR",
                       help="output folder, created if needed (default: colorized_images/)")
    photo.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE, metavar="T",
                       help="annealed-mean temperature: lower is more vivid and patchy, 1 is the "
                       f"plain mean, greyish (default: {DEFAULT_TEMPERATURE:.4f} = 1/2.606, the paper's 0.38)")
    photo.add_argument("--size", type=_network_size, default=DEFAULT_SIZE, metavar="N",
                       help="network input size in pixels, a multiple of 8; time grows with N^2 "
                       f"(default: {DEFAULT_SIZE}, the training size)")
    photo.add_argument("--variant", choices=["v2", "v2_norebal"], default="v2",
                       help="which model weights (default: v2)")
    photo.add_argument("--backend", choices=BACKENDS, default="opencv", help=BACKEND_HELP)
    video = commands.add_parser(
        "video",
        help="colourise a video, keeping its sound",
        description="Colourise every frame of a video (saved as PNG files, so an interrupted run "
        "resumes where it stopped), then put them back together as an H.264 video with every "
        "sound stream of the original, each frame at its original time (variable frame rate is "
        "kept). Interlaced video (most digitised tape) is deinterlaced first. Any container "
        "FFmpeg reads works (MP4, MKV, WebM, MPEG-TS, AVI, MOV...). Exit status: 0 done, 1 the "
        "video could not be (fully) read or written, or its frames folder is in use by another "
        "run, 2 bad options or the model could not be loaded.",
        epilog="examples:\n  python -m helpers video input_video/sample_clip.mp4\n"
        "  python -m helpers video old_film.mp4 --max-frames 48   # a 2-second preview\n"
        "  python -m helpers video tape.mkv --out results/        # -> results/tape_color.mp4\n\n"
        + ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    video.add_argument("input", type=Path, metavar="INPUT", help="the black-and-white video")
    video.add_argument("--out", type=Path, metavar="FILE|DIR",
                       help=f"the colourised video: a file ending in {', '.join(CONTAINERS)} (.mp4 plays in "
                       "browsers, .mkv keeps any sound codec as it is), or an existing folder for "
                       "<folder>/<name>_color.mp4; never the input (default: colorized_videos/<name>_color.mp4)")
    video.add_argument("--frames-dir", type=Path, metavar="DIR",
                       help="where the colourised frames go (default: colorized_frames/<name>/)")
    video.add_argument("--max-frames", type=_whole_number(1), metavar="N",
                       help="only the first N frames (a quick preview)")
    video.add_argument("--start", type=_whole_number(0), default=0, metavar="N",
                       help="skip the first N frames (default: 0)")
    video.add_argument("--mode", choices=["exact", "fast"], default="exact",
                       help="exact: the network on every frame (default); fast: the network on keyframes "
                       "only, colour carried along the optical flow in between (many times faster)")
    video.add_argument("--keyframe-interval", type=_whole_number(1), default=KEYFRAME_INTERVAL, metavar="K",
                       help=f"fast mode: a keyframe at least every K frames (default: {KEYFRAME_INTERVAL})")
    video.add_argument("--deinterlace", choices=DEINTERLACE, default="auto",
                       help="auto: deinterlace the frames the video marks as interlaced (default); on: every "
                       "frame (tape captures marked progressive but showing comb lines); off: never")
    video.add_argument("--smooth", action="store_true",
                       help="smooth the colour over time (motion-compensated) to reduce flicker; the "
                       "unsmoothed frames are kept")
    video.add_argument("--restart", action="store_true",
                       help="replace frames made earlier with other settings instead of refusing")
    video.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE, metavar="T",
                       help=f"as for photo (default: {DEFAULT_TEMPERATURE:.4f})")
    video.add_argument("--size", type=_network_size, default=DEFAULT_SIZE, metavar="N",
                       help=f"network input size, as for photo (default: {DEFAULT_SIZE})")
    video.add_argument("--variant", choices=["v2", "v2_norebal"], default="v2",
                       help="which model weights (default: v2)")
    video.add_argument("--backend", choices=BACKENDS, default="opencv", help=BACKEND_HELP)
    return parser


def _load(args: argparse.Namespace):
    """The network for a command: OpenCV's, or a faster back end (after its accuracy check)."""
    if args.backend == "opencv":
        return load_model(args.variant, temperature=args.temperature)
    from .backends import load_fast_backend  # optional packages: imported only when asked for

    return load_fast_backend(args.backend, model_paths(args.variant), temperature=args.temperature)


def _model_name(args: argparse.Namespace, net) -> str:
    """For the frames' manifest: frames of two back ends or precisions must not mix either."""
    name = model_id(args.variant)
    return name if args.backend == "opencv" else f"{name}; {net.name} {net.precision}"


def _video(args: argparse.Namespace) -> int:
    try:
        info = probe_video(args.input)
        out = output_path(info.path, args.out)  # refused before any work: the input itself, a bad suffix
    except (OSError, VideoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(info.describe())
    try:
        net = _load(args)
    except (ModelLoadError, RuntimeError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():  # the report below says it, without a Python warning's source line
            warnings.filterwarnings("ignore", message="Decoding stopped")
            report = colorize_video(info, net, out=out, frames_dir=args.frames_dir, size=args.size,
                                    model=_model_name(args, net), start=args.start, max_frames=args.max_frames,
                                    restart=args.restart, smooth=args.smooth, mode=args.mode,
                                    keyframe_interval=args.keyframe_interval, deinterlace=args.deinterlace)
    except (OSError, VideoError, FolderInUseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted. The frames done so far are saved: run the same command again to resume.",
              file=sys.stderr)
        return 130
    print(report)
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
        print(f"{MODEL_DIR_ENV} is set: using the model files in {where} as they are.")
    return 0


def _collect(inputs: list[Path]) -> tuple[list[Path], list[str]]:
    """Expand folders into their image files; return (files, error messages)."""
    files, errors = [], []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
            if not found:
                errors.append(f"{path}: no image files in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


def _output_path(src: Path, out_dir: Path, taken: set[Path]) -> Path:
    suffix = src.suffix if src.suffix.lower() in IMAGE_EXTENSIONS else ".png"
    dest = out_dir / f"{src.stem}_color{suffix}"
    n = 2
    while dest.resolve() in taken:  # an input, or a result of this run with the same name
        dest = out_dir / f"{src.stem}_color_{n}{suffix}"
        n += 1
    taken.add(dest.resolve())
    return dest


def _photo(args: argparse.Namespace) -> int:
    try:
        check_size(args.size)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files, errors = _collect(args.inputs)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    if not files:
        return 1
    try:
        net = _load(args)
    except (ModelLoadError, RuntimeError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    taken = {f.resolve() for f in files}
    done = 0
    # One image at a time: bench/photo_speed.py shows batches save nothing on a CPU.
    for src in files:
        try:
            img_bgr = colorize(read_image(src), net, size=args.size)
            dest = write_image(_output_path(src, args.out, taken), img_bgr)
        except (OSError, ValueError) as exc:
            errors.append(str(exc))
            print(f"error: {src}: {exc}", file=sys.stderr)
            continue
        print(f"{src} -> {dest}")
        done += 1
    failed = len(errors)
    summary = f"; {failed} failed (see errors above)." if failed else "."
    print(f"\n{done} image(s) colourised into {args.out}{summary}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"fetch": _fetch, "photo": _photo, "video": _video}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
