"""Build stand-in Caffe models for tests, offline demos and benchmarks.

The real weights (129 MB) cannot be downloaded on the project's CI machines, so this
module writes ``.caffemodel`` files itself:

* ``make_standin_model_dir`` - the real prototxt with generated (random) weights of the
  real sizes. Same speed and memory as the real model, meaningless colours.
* ``tiny_prototxt`` + ``write_caffemodel`` - a tiny network with the real input and
  output layer names, for fast unit tests and "oracle" networks with a known output.

A ``.caffemodel`` is a protobuf ``NetParameter`` (``helpers.model.protobuf``); only the fields
that OpenCV 4 and ``helpers.model.caffe.read_caffemodel`` read are written: ``layer`` = 100
(``LayerParameter``: name 1, type 2, blobs 7) and ``BlobProto`` (data 5 as packed float,
shape 7 = ``BlobShape`` with dim 1 as packed int64). Both match the binary layers to the
prototxt's by name.

Command line::

    python -m tools.standin_model OUT_DIR [--source DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

from helpers.common.files import atomic_path, write_bytes
from helpers.model.caffe import parse_prototxt
from helpers.model.model_files import STANDIN_MARKER
from helpers.model.protobuf import field, varint

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTOTXT_NAME = "colorization_deploy_v2.prototxt"
PTS_NAME = "pts_in_hull.npy"
WEIGHTS_NAME = "colorization_release_v2.caffemodel"


# --------------------------------------------------------------------------- protobuf
def _blob(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype="<f4")
    dims = b"".join(varint(int(d)) for d in array.shape)
    shape = field(1, dims)  # BlobShape.dim, packed int64
    return field(7, shape) + field(5, array.tobytes())


def encode_caffemodel(layers: list[tuple[str, str, list[np.ndarray]]]) -> bytes:
    """Encode ``(name, type, blobs)`` triples as a binary Caffe ``NetParameter``."""
    out = bytearray()
    for name, layer_type, blobs in layers:
        body = field(1, name.encode()) + field(2, layer_type.encode())
        body += b"".join(field(7, _blob(b)) for b in blobs)
        out += field(100, body)
    return bytes(out)


def write_caffemodel(path: Path, layers: list[tuple[str, str, list[np.ndarray]]]) -> Path:
    path = Path(path)
    path.write_bytes(encode_caffemodel(layers))
    return path


# --------------------------------------------------------------------------- prototxt
def random_weights(prototxt: Path, seed: int = 0) -> list[tuple[str, str, list[np.ndarray]]]:
    """He-initialised weights of the right shape for every layer that has parameters."""
    rng = np.random.default_rng(seed)
    net = parse_prototxt(Path(prototxt).read_text())
    channels: dict[str, int] = {}
    layers = []
    for layer in net["layer"]:
        name, kind = layer["name"][0], layer["type"][0]
        tops, bottoms = layer.get("top", []), layer.get("bottom", [])
        if kind == "Input":
            channels[tops[0]] = int(layer["input_param"][0]["shape"][0]["dim"][1])
            continue
        c_in = channels[bottoms[0]] if bottoms else 0
        blobs: list[np.ndarray] = []
        c_out = c_in
        if kind in ("Convolution", "Deconvolution"):
            p = layer["convolution_param"][0]
            c_out = int(p["num_output"][0])
            k = int(p.get("kernel_size", ["1"])[0])
            group = int(p.get("group", ["1"])[0])
            if kind == "Convolution":
                shape = (c_out, c_in // group, k, k)
                fan_in = c_in // group * k * k
            else:  # Caffe stores deconvolution weights as (C_in, C_out / group, k, k)
                shape = (c_in, c_out // group, k, k)
                fan_in = c_in * k * k // 4  # stride-2 deconvolution: each output sees 1/4
            blobs.append(rng.standard_normal(shape, dtype=np.float32) * np.sqrt(2.0 / fan_in))
            if p.get("bias_term", ["true"])[0] != "false":
                blobs.append(rng.standard_normal(c_out, dtype=np.float32) * 0.01)
        elif kind == "BatchNorm":
            mean = rng.standard_normal(c_in, dtype=np.float32) * 0.1
            var = rng.uniform(0.5, 2.0, c_in).astype(np.float32)
            blobs = [mean, var, np.ones(1, np.float32)]
        elif kind == "Scale":
            blobs = [np.full(c_in, 2.606, np.float32)]
        for top in tops:
            channels[top] = c_out
        if blobs:
            layers.append((name, kind, blobs))
    return layers


def find_source_dir() -> Path:
    """``model/``, where the repository keeps the real prototxt and pts_in_hull.npy."""
    source = REPO_ROOT / "model"
    missing = [name for name in (PROTOTXT_NAME, PTS_NAME) if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{' and '.join(missing)} missing from {source}: they come with the repository. "
            "Restore them with `git checkout model/`, or pass --source DIR (a folder that holds both)."
        )
    return source


def make_standin_model_dir(out_dir: Path, source: Path | None = None, seed: int = 0) -> Path:
    """Write a stand-in model folder: real prototxt and cluster centres, random weights.

    Point ``COLORIZE_MODEL_DIR`` at the result to run the notebooks, ``make demo`` or the
    benchmarks offline. Colours are meaningless; sizes, speed and memory are real.
    """
    source = Path(source) if source else find_source_dir()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (PROTOTXT_NAME, PTS_NAME):
        if not (source / name).is_file():
            raise FileNotFoundError(f"{source / name} does not exist: the source folder must hold {PROTOTXT_NAME} "
                                    f"and {PTS_NAME}.")
        shutil.copyfile(source / name, out_dir / name)
    weights = out_dir / WEIGHTS_NAME
    # Generating 129 MB takes seconds: reuse a finished file, recognised by its stamp. The stamp
    # (STANDIN_MARKER) also tells helpers.model.describe_model, and so the command line, that
    # these weights are random.
    stamp = out_dir / STANDIN_MARKER
    expected = f"random weights, seed {seed}"
    if weights.is_file() and stamp.is_file():
        if stamp.read_text().startswith(f"{expected}, {weights.stat().st_size} bytes"):
            return out_dir
    with atomic_path(weights) as tmp:
        write_caffemodel(tmp, random_weights(out_dir / PROTOTXT_NAME, seed=seed))
    write_bytes(stamp, (
        f"{expected}, {weights.stat().st_size} bytes\n"
        "A stand-in made by tools/standin_model.py: the real architecture with meaningless weights.\n"
        "Its colours are noise; use it to test the pipeline, speed and memory offline.\n"
    ).encode())
    return out_dir


# --------------------------------------------------------------------------- tiny nets
def tiny_prototxt(stride: int = 4) -> str:
    """A tiny network with the real input/output layer names.

    ``data_l`` (N,1,H,W) -> one ``stride`` x ``stride`` convolution to 313 logits ->
    ``conv8_313_rh`` (Scale) -> ``class8_313_rh`` (Softmax) -> ``class8_ab`` (1x1 conv),
    so the output is (N, 2, H/stride, W/stride), like the real network's (N, 2, 56, 56).
    """
    return f"""name: "TinyLtoAB"
layer {{ name: "data_l" type: "Input" top: "data_l"
  input_param {{ shape {{ dim: 1 dim: 1 dim: 224 dim: 224 }} }} }}
layer {{ name: "conv8_313" type: "Convolution" bottom: "data_l" top: "conv8_313"
  convolution_param {{ num_output: 313 kernel_size: {stride} stride: {stride} }} }}
layer {{ name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh"
  scale_param {{ bias_term: false }} }}
layer {{ name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }}
layer {{ name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab"
  convolution_param {{ num_output: 2 kernel_size: 1 stride: 1 }} }}
"""


def tiny_model_dir(
    out_dir: Path,
    pts_in_hull: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    stride: int = 4,
) -> Path:
    """Write a tiny model folder (prototxt, caffemodel, pts_in_hull.npy).

    ``weights`` is (313, 1, stride, stride) and ``bias`` is (313,): the logits of bin k at
    an output pixel are ``sum(weights[k] * patch_of_L_minus_50) + bias[k]``. With zero
    weights and a bias that is large for one bin, the network is an oracle whose output
    is exactly that bin's ab everywhere.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PROTOTXT_NAME).write_text(tiny_prototxt(stride))
    np.save(out_dir / PTS_NAME, np.asarray(pts_in_hull))
    write_caffemodel(
        out_dir / WEIGHTS_NAME,
        [("conv8_313", "Convolution", [weights, bias]),
         ("conv8_313_rh", "Scale", [np.full(313, 2.606, np.float32)])],
    )
    (out_dir / STANDIN_MARKER).write_text("a tiny test network made by tools/standin_model.py, not the real model\n")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.standin_model",
        description="Write a stand-in model folder (real prototxt, random weights) for "
        "offline demos and benchmarks. Use it with COLORIZE_MODEL_DIR=OUT_DIR.",
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--source", type=Path,
                        help="folder with the real prototxt and pts_in_hull.npy (default: model/, where the "
                        "repository keeps them)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        out = make_standin_model_dir(args.out_dir, args.source, args.seed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Stand-in model (random weights: its colours are noise) written to {out}\n"
          f"Use it with: COLORIZE_MODEL_DIR={out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
