"""Is OpenCV installed in a way that works? If not, what exactly to type to repair it.

OpenCV comes from PyPI as four packages that all install the SAME folder, ``cv2/``:
``opencv-python``, ``opencv-python-headless`` (no GUI, no libGL: what this project asks for),
and their ``-contrib-`` versions. pip does not know they clash. Installing a second one writes
over the first one's files; uninstalling either deletes the shared files, and ``import cv2``
then finds an empty folder (``module 'cv2' has no attribute '__version__'``), while pip still
lists the other package as installed, so ``pip install`` answers "Requirement already
satisfied". Only ``--force-reinstall`` puts the files back. An OpenCV older than 4.10 cannot
be imported beside NumPy 2 at all ("numpy.core.multiarray failed to import").

``opencv_problem`` decides, from what is installed and what ``import cv2`` gave, whether
something is wrong and which commands fix it (a pure function: tested on every case);
``find_opencv`` looks at this Python; ``check_opencv`` does both and raises. The command line
runs the check before anything else, and notebook 02 in its first cell.

Introduced in notebook 02_photo (set-up).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
import warnings
from dataclasses import dataclass, field

PACKAGES = ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless", "opencv-contrib-python")
"""The PyPI packages that install ``cv2``; the first is the one requirements.txt asks for."""
REQUIREMENT = "opencv-python-headless>=4.10,<6"
"""What requirements.txt asks for (a test keeps the two the same). 4.10 is the first OpenCV built
for NumPy 2; OpenCV 5 reads the network as ONNX (``helpers.model.onnx_file``)."""

THIS_PYTHON = os.path.normpath(sys.executable)
"""This interpreter, for the commands of a fix: the virtual environment's own, not the one it links to."""


class OpenCvInstallError(ImportError):
    """OpenCV is missing, or its files are broken or mixed from several packages."""


class OpenCvInstallWarning(UserWarning):
    """OpenCV works, but several packages share its folder: the next pip command may break it."""


@dataclass(frozen=True)
class OpenCvInstall:
    """What this Python has: the OpenCV packages pip knows, and what ``import cv2`` gave.

    Attributes
    ----------
    packages : dict
        Installed package name -> version, for the names in ``PACKAGES``.
    version : str or None
        ``cv2.__version__``, or None when the import failed or the folder holds no OpenCV.
    error : str or None
        Why ``import cv2`` failed (the exception's last line), or None.
    python : str
        The interpreter, for the commands of the fix (``python -m pip`` of the right Python).
    """

    packages: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    error: str | None = None
    python: str = THIS_PYTHON

    @property
    def works(self) -> bool:
        """``import cv2`` gave an OpenCV."""
        return self.version is not None and self.error is None


def find_opencv(python: str = THIS_PYTHON, import_error: BaseException | None = None) -> OpenCvInstall:
    """Look at this Python's OpenCV: the installed packages, then ``import cv2``.

    ``import_error``: what ``import cv2`` raised already; it is not tried again (NumPy prints a
    page of text each time an OpenCV built for NumPy 1 is imported).
    """
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        if import_error is not None:
            raise import_error
        cv2 = importlib.import_module("cv2")
    except Exception as exc:  # noqa: BLE001 - a broken binary raises ImportError, OSError, AttributeError...
        text = str(exc).strip().splitlines()
        return OpenCvInstall(packages, None, f"{type(exc).__name__}: {text[-1] if text else ''}", python)
    version = getattr(cv2, "__version__", None)
    if version is None or not hasattr(cv2, "dnn"):
        return OpenCvInstall(packages, None, "the cv2 folder holds no OpenCV (module 'cv2' has no attribute "
                             "'__version__')", python)
    return OpenCvInstall(packages, str(version), None, python)


def _quote(arg: str) -> str:
    """``arg`` for a shell: double quotes work alike in bash, zsh, cmd and PowerShell."""
    return arg if re.fullmatch(r"[\w./:\\-]+", arg) else f'"{arg}"'


def _pip(python: str, *args: str) -> str:
    return " ".join([_quote(python), "-m", "pip", *(_quote(a) for a in args)])


def opencv_problem(install: OpenCvInstall) -> str | None:
    """What is wrong with ``install`` and the commands that repair it, or None when it works.

    Parameters
    ----------
    install : OpenCvInstall
        From ``find_opencv``.

    Returns
    -------
    str or None
        Several lines: what is installed, what is wrong, and ``Fix:`` with commands to copy.

    Notes
    -----
    The fix uninstalls every OpenCV package pip lists, then installs ``REQUIREMENT`` with
    ``--force-reinstall`` (files deleted by another package's uninstall come back only so) and
    ``--no-deps`` (NumPy stays as it is). It was tried in a virtual environment where the
    breakage had happened (tests/test_opencv_install.py).

    Examples
    --------
    >>> print(opencv_problem(OpenCvInstall({"opencv-python-headless": "5.1.0.95"}, "5.1.0")))
    None
    """
    listed = ", ".join(f"{name} {version}" for name, version in install.packages.items()) or "none"
    several = len(install.packages) > 1
    if install.works and not several:
        return None
    if install.works:
        what = (f"OpenCV {install.version} works for now, but several OpenCV packages are installed: {listed}. "
                "They share one cv2 folder, so uninstalling or upgrading one of them breaks the others.")
    elif not install.packages:
        what = f"OpenCV is not installed ({install.error})."
    elif "libGL" in (install.error or ""):
        what = (f"OpenCV cannot be imported: {install.error}. The installed {listed} is the desktop build, which "
                "needs the system's OpenGL library (missing on Binder, servers and slim containers); the headless "
                "build needs none.")
    elif "numpy" in (install.error or "").lower():
        what = (f"OpenCV cannot be imported: {install.error}. The installed {listed} was built for NumPy 1, "
                "and NumPy 2 is installed: OpenCV 4.10 or newer is needed.")
    else:
        what = (f"OpenCV cannot be used: {install.error}. pip lists {listed}, but the files are gone or mixed "
                "(one OpenCV package was installed or uninstalled over another: they share one cv2 folder).")
    commands = []
    if install.packages:
        commands.append(_pip(install.python, "uninstall", "-y", *install.packages))
    commands.append(_pip(install.python, "install", "--force-reinstall", "--no-deps", REQUIREMENT))
    return what + "\nFix, in a terminal (then run the command again; in a notebook, restart the kernel):\n" + "\n".join(
        f"    {command}" for command in commands)


def check_opencv(install: OpenCvInstall | None = None) -> str:
    """Say which OpenCV this is, in words; raise ``OpenCvInstallError`` with the fix unless it works.

    An OpenCV that works but shares its folder with another package gives an
    ``OpenCvInstallWarning`` with the fix, before the next pip command breaks it.

    Examples
    --------
    >>> check_opencv()   # doctest: +SKIP
    'OpenCV 5.1.0 (opencv-python-headless 5.1.0.95): reads the model as ONNX'
    """
    install = install or find_opencv()
    problem = opencv_problem(install)
    if problem and not install.works:
        raise OpenCvInstallError(problem)
    if problem:
        warnings.warn(problem, OpenCvInstallWarning, stacklevel=2)
    package = ", ".join(f"{name} {version}" for name, version in install.packages.items()) or "not from PyPI"
    how = "Caffe" if int(install.version.split(".")[0]) < 5 else "ONNX (OpenCV 5 no longer reads Caffe files)"
    return f"OpenCV {install.version} ({package}): reads the model as {how}"


def explain_import_error(error: ImportError) -> None:
    """Raise ``OpenCvInstallError`` saying why ``import cv2`` failed and how to repair it.

    Under ``python -m helpers`` (``sys.argv[0]`` is ``"-m"`` while Python looks for the module)
    the message is printed and the command exits with status 2: no traceback at the user.
    """
    message = opencv_problem(find_opencv(import_error=error)) or f"OpenCV cannot be imported: {error}"
    if sys.argv[:1] == ["-m"]:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)
    raise OpenCvInstallError(message) from None


if __name__ == "__main__":  # `python helpers/common/opencv_install.py`: needs only the standard library, so it
    # runs even where `import helpers` cannot (NumPy or the other packages missing too)
    found = find_opencv()
    problem = opencv_problem(found)
    print(problem or check_opencv(found))
    sys.exit(1 if problem else 0)
