"""Which fast back ends and precisions this machine has.

OpenVINO comes with the default install (requirements.txt) on the machines it has wheels
for; ONNX Runtime is optional (``pip install -e ".[fast]"``). This module imports their
packages only to see whether they load, and says how to install a missing one. Used by
``python -m helpers photo|video --backend NAME`` (the choices of ``--backend`` are ``auto``
and ``BACKENDS``), by ``load.load_network`` and ``auto``.

Introduced in notebook 04_faster_video (section 3).
"""

from __future__ import annotations

import importlib
from functools import cache

BACKENDS = ("opencv", "onnxruntime", "openvino")
"""Every back end this package knows; ``available_backends`` says which are installed."""
PRECISIONS = ("fp32", "bf16", "int8")
"""Every precision a back end may offer; ``available_precisions`` says which one does here."""
INSTALL_HINT = 'pip install -e ".[fast]"'
"""How to install ONNX Runtime (the ``fast`` extra of pyproject.toml)."""
_HINTS = {"onnxruntime": INSTALL_HINT,
          "openvino": "pip install -r requirements.txt (OpenVINO has wheels for x86-64 and ARM64 machines)"}

_REQUIRES = {"opencv": (), "onnxruntime": ("onnx", "onnxruntime"), "openvino": ("openvino",)}


class BackendUnavailableError(ImportError):
    """A fast back end was asked for but its package is not installed."""


@cache
def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except (ImportError, OSError):  # OSError: a wheel whose shared library does not load
        return False
    return True


def available_backends() -> list[str]:
    """The back ends that can run here: ``"opencv"`` always, then the installed fast ones.

    Examples
    --------
    >>> available_backends()  # after pip install -e ".[fast]"
    ['opencv', 'onnxruntime', 'openvino']
    """
    return [name for name in BACKENDS if all(_importable(m) for m in _REQUIRES[name])]


def require(name: str) -> None:
    """Raise unless back end ``name`` exists and its packages are installed.

    Raises
    ------
    ValueError
        ``name`` is not one of ``BACKENDS``.
    BackendUnavailableError
        Its package is missing; the message says how to install it.
    """
    if name not in BACKENDS:
        raise ValueError(f"Unknown back end {name!r}; choose one of {', '.join(BACKENDS)}.")
    missing = [m for m in _REQUIRES[name] if not _importable(m)]
    if missing:
        raise BackendUnavailableError(
            f"The {name} back end needs the package(s) {', '.join(missing)}, which are not installed.\n"
            f"Fix: {_HINTS[name]}\nOr use --backend auto (the fastest of what is installed) or opencv."
        )


def available_precisions(name: str) -> list[str]:
    """The precisions back end ``name`` offers on this machine, ``"fp32"`` first.

    ``"bf16"`` is listed only where the CPU computes in bfloat16 natively (AVX-512 BF16 or
    AMX); elsewhere OpenVINO would quietly run fp32 instead.
    """
    require(name)
    if name == "opencv":
        return ["fp32"]
    if name == "onnxruntime":  # no bfloat16 convolutions in ONNX Runtime's CPU kernels
        return ["fp32", "int8"]
    import openvino as ov

    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return ["fp32"] + (["bf16"] if "BF16" in capabilities else []) + ["int8"]
