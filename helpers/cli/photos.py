"""``python -m helpers photo``: image files and folders colourised, restored first if asked (the command line)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..common.files import remove_stale_parts
from ..common.image_files import FORMATS, IMAGE_EXTENSIONS, SEVERAL_PICTURES, TRANSPARENCY, Picture
from ..common.image_output import OutputFolderError, check_output_folder, is_result, write_pictures
from ..model.model_files import ModelLoadError
from ..photo.image_file import ColourisedFile, colorize_image_file
from ..restoration.photo_restore import PHOTO_STEPS
from ..restoration.photo_restore_files import is_restore_mask, mask_path, write_mask
from .start import NOT_STARTED, STOPPED, dask_client, load_network, restore_steps


def _collect(inputs: list[Path]) -> tuple[list[Path], list[str], list[Path]]:
    """Expand folders into their image files; return (files, error messages, results skipped).

    In folders, this tool's own earlier results are skipped (``image_output.is_result``), so a
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


def _colorized_files(jobs: list[tuple[Path, bool]], net, args: argparse.Namespace, client):
    """``(index in jobs, ColourisedFile or None, error message or None)`` for each file, colourised
    here, or on Dask workers (in the order they finish; no --restore there)."""
    if client is not None and args.restore is not None:
        print("photo --restore runs on this machine, not on the Dask workers.")
    elif client is not None:
        from ..cluster.photos import colorize_files  # Dask, only when asked for

        notes: list[str] = []  # workers that were refused
        for n, done in colorize_files(client, net, jobs, temperature=args.temperature, size=args.size,
                                      variant=args.variant, notes=notes):
            yield (n, done, None) if isinstance(done, ColourisedFile) else (n, None, done)
        for line in notes:
            print(line)
        return
    restore = restore_steps(args, PHOTO_STEPS)
    for n, (src, keep_all) in enumerate(jobs):
        try:
            yield n, colorize_image_file(src, net, temperature=args.temperature, size=args.size, keep_all=keep_all,
                                         restore=restore), None
        except MemoryError:
            yield n, None, "not enough memory to colourise this picture: shrink it, or close other programs"
        except (OSError, ValueError) as exc:
            yield n, None, str(exc)


def _gather(inputs: list[Path]) -> tuple[list[Path], list[str]]:
    """The files to colourise and the error messages so far, after saying on the terminal what is wrong
    and which earlier results are skipped."""
    files, errors, skipped = _collect(inputs)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    if skipped:
        print(f"Skipped {len(skipped)} earlier result(s) of this tool ({', '.join(p.name for p in skipped[:3])}"
              f"{', ...' if len(skipped) > 3 else ''}); name a file to colourise it anyway.")
    return files, errors


def _write_result(dest: Path, made: ColourisedFile, taken: set[Path]) -> str:
    """Write one file's colourised pictures to ``dest``, and beside it the mask of what was restored;
    return what to say about it after its name. Raises OSError or ValueError when it cannot be written."""
    results, masks = made.pictures, made.masks
    write_pictures(dest, results, loop=made.source.loop, dpi=made.source.dpi)
    mask, filled = mask_path(dest), ""
    if masks and mask.resolve() not in taken and (not mask.exists() or is_restore_mask(mask)):
        write_mask(mask, masks)  # never over an input or your own file
        share = max(float(m.mean()) for m in masks)  # of a picture; a file may hold several
        filled = (f"; restored: {'up to ' if len(masks) > 1 else ''}{share:.2%} of it filled, "
                  f"white in {mask.name}")
    return f"{_photo_notes(made.source.count, results, dest)}{filled}"


def photo_command(args: argparse.Namespace) -> int:
    """``photo``: every file of ``args.inputs`` colourised into ``args.out``, each reported on its own line;
    the exit status (0 all done, 1 some files failed, 2 nothing was done, 130 stopped)."""
    files, errors = _gather(args.inputs)
    if not files:
        print("Nothing to colourise.")
        return 1 if errors else 0
    try:  # once, before the model loads, rather than once per picture
        check_output_folder(args.out)
    except OutputFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return NOT_STARTED
    done = 0
    try:
        with dask_client(args) as dask:
            net = load_network(args)
            if net is None:
                return NOT_STARTED
            remove_stale_parts(args.out)  # temporary files of a run that was killed
            taken = {f.resolve() for f in files}
            dests = [_output_path(src, args.out, taken) for src in files]
            jobs = [(src, FORMATS[dest.suffix.lower()] in SEVERAL_PICTURES) for src, dest in zip(files, dests)]
            for n, made, message in _colorized_files(jobs, net, args, dask()):
                src, dest = files[n], dests[n]
                if message is None:
                    try:
                        said = _write_result(dest, made, taken)
                    except (OSError, ValueError) as exc:
                        message = str(exc)
                    else:
                        print(f"{src} -> {dest}{said}")
                        done += 1
                        continue
                errors.append(message)
                print(f"error: {src}: {message}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\nInterrupted after {done} image(s); they are in {args.out} (no half-written files are left).",
              file=sys.stderr)
        return STOPPED
    except (ModelLoadError, OSError) as exc:  # the workers cannot load the model; the cluster cannot be reached
        print(f"error: {exc}", file=sys.stderr)
        return NOT_STARTED
    failed = len(errors)
    summary = f"; {failed} failed (see errors above)." if failed else "."
    print(f"\n{done} image(s) colourised into {args.out}{summary}")
    return 1 if failed else 0
