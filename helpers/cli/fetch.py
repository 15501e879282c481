"""``python -m helpers fetch``: the model files downloaded and checked (the command line)."""

from __future__ import annotations

import argparse
import sys

from ..model.fetch import MODEL_DIR_ENV, ModelDownloadError
from ..model.model_files import ModelLoadError, describe_model, get_model_files, onnx_file_of, opencv_reads_caffe


def fetch_command(args: argparse.Namespace) -> int:
    """``fetch``: the model files of ``args.variant`` downloaded (or found), and their ONNX file with OpenCV 5
    or ``--onnx``; the exit status (0 ready, 1 not)."""
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
