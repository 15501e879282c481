"""``--backend auto``: the fastest back end that keeps the colours on THIS machine, chosen once.

The same network runs at different speeds in OpenCV, OpenVINO and ONNX Runtime, and int8 or
bf16 run faster still but change the colours by an amount that depends on the weights. So
the first time a model is used on a machine, ``choose_backend`` tries every back end and
precision this machine has (``available``), each built by the one loader (``load.load_network``):

1. OpenCV's network is the reference: it colours the sample photos of ``input_images/``;
2. each other candidate colours them too (ONNX Runtime's int8 only where OpenVINO is
   missing); fp32 rebuilds must match OpenCV's colours within ``FP32_TOLERANCE`` (they
   compute the same numbers: more means a broken rebuild), int8 and bf16 within
   ``DEFAULT_TOLERANCE``;
3. each candidate whose colours match is timed on one 224 x 224 pass, and the fastest wins.

That takes 10-20 s on a laptop. The verdict goes into a small JSON file in the cache folder
(``cache_folder``), under a key made of the model files' contents, the runtimes' versions,
the CPU and the temperature, so the next run builds the winner straight away, which takes
about as long as loading OpenCV's network. int8's calibrated ranges are kept with it (ONNX
Runtime's int8 model as a file beside it), so nothing is calibrated twice. A change of model,
runtime, CPU or temperature means a new key, so a new check; delete the folder to force one.

This module decides (``fastest`` is the rule, ``choose_backend`` measures, the verdict is kept);
``helpers.backends.load.load_auto`` builds what it chose, so it imports no loader.

Introduced with ``python -m helpers photo|video`` (``--backend auto``, the default) and in
notebook 04_faster_video (section 3, runtimes and precisions).
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..common.files import file_digest
from ..lab.temperature import DEFAULT_TEMPERATURE, temperature_key
from ..model.model_files import ModelPaths, read_model_graph
from ..model.net import DEFAULT_SIZE, ColorizationNet
from ..paths import CACHE_ENV, cache_folder  # noqa: F401 - CACHE_ENV is part of this module's API
from .available import available_backends, available_precisions
from .quantize import Calibration, load_sample_images, network_inputs

DEFAULT_TOLERANCE = 2.0
"""Largest mean |Δab| versus fp32 accepted for bf16 or int8. For scale: a and b run about
-110..110, and 2 units is a shade difference that is hard to see side by side."""
FP32_TOLERANCE = 0.1
"""Largest mean |Δab| between an fp32 rebuild and OpenCV (they differ by float rounding, < 0.01)."""
CACHE_FORMAT = 1
"""Bumped when the verdict file or the way candidates are built changes: old verdicts are then ignored."""


@dataclass
class Candidate:
    """One back end and precision tried by ``choose_backend``: its colour error and its speed.

    ``error``: mean |Δab| versus OpenCV on the sample photos (None if it could not be built);
    ``ms``: one 224 x 224 pass (None unless its colours matched); ``note``: why not, in words.
    """

    backend: str
    precision: str
    error: float | None = None
    ms: float | None = None
    accepted: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.backend} {self.precision}"


def _cpu() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), or what ``platform`` knows; and its core count."""
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _versions(names: list[str]) -> dict[str, str]:
    packages = {"opencv": ["opencv-python-headless", "opencv-python", "opencv-contrib-python"],
                "onnxruntime": ["onnxruntime", "onnx"], "openvino": ["openvino"]}
    versions = {}
    for name in names:
        for package in packages[name]:
            try:
                versions[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                continue
    import cv2

    versions["cv2"] = cv2.__version__
    return versions


def fingerprint(paths: ModelPaths, temperature: float, tolerance: float) -> dict:
    """What a verdict depends on: the model files' contents, the runtimes, the CPU, T and the tolerance."""
    names = available_backends()
    return {"format": CACHE_FORMAT, "model": {p.name: file_digest(p) for p in paths.files},
            "runtimes": _versions(names), "backends": names, "cpu": _cpu(),
            "temperature": temperature_key(temperature), "tolerance": tolerance}


def verdict_path(key: dict, folder: Path | None = None) -> Path:
    """The verdict file for ``key`` (a ``fingerprint``)."""
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return (folder or cache_folder()) / "backends" / f"{name}.json"


def _time_pass(net: ColorizationNet, repeats: int = 3) -> float:
    """Milliseconds of one 224 x 224 pass, the best of ``repeats`` after a warm-up pass."""
    blob = np.zeros((1, 1, DEFAULT_SIZE, DEFAULT_SIZE), np.float32)
    net.setInput(blob)
    net.forward()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.setInput(blob)
        net.forward()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def _colours(net: ColorizationNet, blob: np.ndarray) -> np.ndarray:
    """``net``'s output for each image of ``blob``, one pass per image: a batch of five at once
    would hold five times the intermediate results (OpenCV: about 0.7 GB more)."""
    results = []
    for i in range(len(blob)):
        net.setInput(blob[i:i + 1])
        results.append(net.forward())
    return np.concatenate(results)


def read_verdict(path: Path, key: dict) -> dict | None:
    """The verdict kept in ``path`` for ``key`` (a ``fingerprint``); None if none yet, damaged or another key's."""
    try:
        verdict = json.loads(path.read_text(encoding="utf-8"))
        verdict["chosen"]["backend"], verdict["chosen"]["precision"]  # noqa: B018 - present?
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or damaged: checked again and written anew
    return verdict if verdict.get("key") == key else None


def fastest(candidates: list[Candidate]) -> Candidate:
    """The decision: of the candidates whose colours matched (``accepted``, timed), the fastest.

    The reference (OpenCV, first) is always accepted, so there is one; on a tie the earlier wins.
    """
    return min((c for c in candidates if c.accepted and c.ms is not None), key=lambda c: c.ms)


def choose_backend(paths: ModelPaths, temperature: float = DEFAULT_TEMPERATURE, *,
                   build: Callable[..., ColorizationNet], tolerance: float = DEFAULT_TOLERANCE,
                   sample_images: list[np.ndarray] | None = None, folder: Path | None = None,
                   log: Callable[[str], None] = print) -> tuple[ColorizationNet, dict]:
    """Try every back end and precision here; the fastest whose colours match OpenCV's, and the verdict.

    See the module's description. ``build`` is the loader (``load.load_network``), called as
    ``build(paths, backend=, precision=, temperature=, calibration=, graph=)``. ``log`` gets one
    line per candidate. Returns the winner's network, kept from the trial, and the verdict
    (``chosen``, ``candidates`` as dicts of ``Candidate``, ``saved``), not yet written anywhere.
    """
    images = load_sample_images() if sample_images is None else list(sample_images)
    blob = network_inputs(images, DEFAULT_SIZE)
    folder = folder or cache_folder()
    reference = build(paths, temperature=temperature)
    expected = _colours(reference, blob)
    candidates = [Candidate("opencv", "fp32", error=0.0, accepted=True, note="the reference")]
    candidates[0].ms = _time_pass(reference)
    log(f"  opencv fp32: the reference, {candidates[0].ms:.0f} ms a pass")
    del reference  # one network at a time in memory (each holds the weights): rebuilt if it wins
    best, best_net, saved, leftovers = candidates[0], None, {}, []
    fast = [name for name in available_backends() if name != "opencv"]
    graph = read_model_graph(paths) if fast else None
    for name in fast:
        for precision in available_precisions(name):
            if precision == "int8" and not graph.quantizable():
                continue  # no convolution to put in 8 bits: int8 would be fp32 under another name
            if (name, precision) == ("onnxruntime", "int8") and "openvino" in fast:
                # Only where OpenVINO is missing: its calibration takes 4 s and 1.4 GB (too much for a
                # 2 GB Binder session), and on x86 it ran at half OpenVINO int8's speed (bench/backend_speed.py).
                continue
            candidate, own = Candidate(name, precision), {}
            candidates.append(candidate)
            leftovers.append(own)
            try:
                net = build(paths, backend=name, precision=precision, temperature=temperature,
                            calibration=Calibration(blob, own, folder), graph=graph)
                candidate.error = float(np.mean(np.abs(_colours(net, blob) - expected)))
            except Exception as exc:  # noqa: BLE001 - a runtime that fails here is simply not used
                candidate.note = f"could not be built or run: {str(exc).strip().splitlines()[0][:200]}"
                log(f"  {candidate.label}: {candidate.note}")
                continue
            limit = FP32_TOLERANCE if precision == "fp32" else tolerance
            candidate.accepted = candidate.error <= limit
            if candidate.accepted:
                candidate.ms = _time_pass(net)
                candidate.note = f"colours within {limit} of OpenCV's"
                if fastest([best, candidate]) is candidate:
                    best, best_net, saved = candidate, net, own
                    net = None  # kept as the best so far; the one it beat is let go
            else:
                candidate.note = f"changes the colours by {candidate.error:.2f} > {limit}: not used"
            log(f"  {candidate.label}: mean |Δab| {candidate.error:.3f} versus OpenCV"
                + (f", {candidate.ms:.0f} ms a pass" if candidate.ms else f" > {limit}: not used"))
            del net
            gc.collect()
    for own in leftovers:  # ONNX Runtime int8 models of the candidates that lost
        if own is not saved and "model_file" in own:
            Path(own["model_file"]).unlink(missing_ok=True)
    if best_net is None:
        best_net = build(paths, temperature=temperature)
    verdict = {"chosen": {"backend": best.backend, "precision": best.precision, "ms": best.ms,
                          "speedup": candidates[0].ms / best.ms},
               "candidates": [asdict(c) for c in candidates], "saved": saved,
               "checked": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "images": len(images)}
    return best_net, verdict


def remembered_choice(paths: ModelPaths, *, temperature: float = DEFAULT_TEMPERATURE,
                      tolerance: float = DEFAULT_TOLERANCE, folder: Path | None = None) -> dict | None:
    """The verdict ``load_auto`` remembered for this model, machine and temperature; None if none yet."""
    key = fingerprint(paths, temperature, tolerance)
    return read_verdict(verdict_path(key, Path(folder) if folder else cache_folder()), key)


def choice_table(verdict: dict) -> str:
    """The candidates of a verdict as a text table: colour error, time per pass, speed, and which won."""
    chosen = verdict["chosen"]
    reference = next(c["ms"] for c in verdict["candidates"] if c["backend"] == "opencv")
    lines = [f"{'back end':18s} {'mean |Δab| vs OpenCV':>20s} {'ms a pass':>10s} {'speed':>6s}"]
    for c in verdict["candidates"]:
        label = f"{c['backend']} {c['precision']}"
        error = "-" if c["error"] is None else f"{c['error']:.3f}"
        ms, speed = ("-", "-") if c["ms"] is None else (f"{c['ms']:.0f}", f"{reference / c['ms']:.1f}x")
        if (c["backend"], c["precision"]) == (chosen["backend"], chosen["precision"]):
            remark = "  <- chosen"
        else:
            remark = "" if c["accepted"] else f"  ({c['note']})"
        lines.append(f"{label:18s} {error:>20s} {ms:>10s} {speed:>6s}{remark}")
    return "\n".join(lines)


def backend_label(net: ColorizationNet) -> str:
    """``"opencv fp32"``, ``"openvino int8"``...: what runs ``net``, for messages and the frames' manifest."""
    return f"{getattr(net, 'name', 'opencv')} {getattr(net, 'precision', 'fp32')}"
