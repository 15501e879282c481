"""Fetch the model files: a registry of sizes, hashes and mirrors, and a downloader that survives dead links.

The original download host of the model is gone, and any mirror can disappear too. So every
file has a list of sources tried in order, and the file's hash - not the link - decides whether
a download is right. A download goes to a temporary file next to its destination and is only
renamed into place once its hash matches, so an interrupted download never leaves a partial
model behind, and an HTML error page can never reach OpenCV.

Introduced in notebook 02_photo; ``python -m helpers fetch`` runs it from a terminal.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pooch

from ..common.files import atomic_path, looks_like_html
from ..paths import MODEL_DIR

REGISTRY_FILE = MODEL_DIR / "registry.json"
MIRROR_ENV = "COLORIZE_MODEL_MIRROR"
"""Folder or URL base tried before the public mirrors (a classroom's shared copy)."""
MODEL_DIR_ENV = "COLORIZE_MODEL_DIR"
"""Folder of model files used as they are, without hash checks (your own Caffe model)."""


@dataclass(frozen=True)
class ModelFile:
    """One file of the model: its name, size in bytes, ``"algorithm:hexdigest"`` hash and sources."""

    name: str
    size: int
    hash: str
    urls: tuple[str, ...]
    in_repository: bool = False
    """Committed in model/ (the prototxt and cluster centres): the sources only repair a damaged copy."""


@dataclass(frozen=True)
class FetchFailure:
    """A file that could not be fetched: where it should go, and each source tried with why it failed."""

    entry: ModelFile
    dest: Path
    tried: tuple[tuple[str, str], ...]


class ModelDownloadError(RuntimeError):
    """Every source of one or more model files failed; ``failures`` lists them all."""

    def __init__(self, failures: list[FetchFailure]):
        self.failures = failures
        super().__init__(_failure_report(failures))


def read_registry(path: Path | None = None) -> tuple[dict[str, ModelFile], dict[str, list[str]]]:
    """Read ``model/registry.json``: ``({file name: ModelFile}, {variant: [file names]})``."""
    data = json.loads(Path(path or REGISTRY_FILE).read_text(encoding="utf-8"))
    files = {
        name: ModelFile(name=name, size=entry["size"], hash=entry["hash"], urls=tuple(entry["urls"]),
                        in_repository=entry.get("in_repository", False))
        for name, entry in data["files"].items()
    }
    return files, data["variants"]


def known_variants() -> dict[str, str]:
    """The model variants the registry knows, ``{name: one line about it}``, the default (``"v2"``) first."""
    data = json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    return {name: data.get("variant_notes", {}).get(name, "") for name in data["variants"]}


def variant_files(variant: str = "v2") -> list[ModelFile]:
    """The registry entries of a model variant (``"v2"`` or ``"v2_norebal"``)."""
    files, variants = read_registry()
    if variant not in variants:
        raise ValueError(f"Unknown model variant {variant!r}; choose one of: {', '.join(variants)}.")
    return [files[name] for name in variants[variant]]


def is_valid(path: Path, entry: ModelFile) -> bool:
    """True if ``path`` exists with the registry's size and hash (the size check is instant)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size != entry.size:
        return False
    algorithm, digest = entry.hash.split(":")
    return pooch.file_hash(str(path), alg=algorithm) == digest


def _reject_html(output_file: str) -> None:
    if looks_like_html(output_file):
        raise ValueError("the server sent an HTML page instead of the model file (a login, error or 'moved' page)")


class _Downloader:
    """pooch's HTTP downloader plus a timeout and a check that refuses HTML pages."""

    def __init__(self, progressbar: bool, timeout: float):
        self._http = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)

    def __call__(self, url: str, output_file, pooch_obj, check_only: bool = False):
        self._http(url, output_file, pooch_obj)
        _reject_html(str(output_file))


def _fill_verified(tmp: Path, source: str, entry: ModelFile, progressbar: bool, timeout: float) -> None:
    """Download or copy ``source`` into ``tmp``; raise unless it has the registry's size and hash."""
    if "://" in source:
        _Downloader(progressbar, timeout)(source, str(tmp), None)
    elif Path(source).is_file():
        shutil.copyfile(source, tmp)
    else:
        raise FileNotFoundError(f"no such file: {source}")
    if not is_valid(tmp, entry):
        _reject_html(str(tmp))
        algorithm = entry.hash.split(":")[0]
        raise ValueError(
            f"wrong size or hash: {tmp.stat().st_size:,} bytes, {algorithm}:"
            f"{pooch.file_hash(str(tmp), alg=algorithm)} does not match the known hash {entry.hash} "
            f"({entry.size:,} bytes)"
        )


def _sources(entry: ModelFile, mirror: str | os.PathLike | None) -> list[str]:
    if not mirror:
        return list(entry.urls)
    mirror = str(mirror)
    if mirror.startswith("file://"):
        mirror = mirror.removeprefix("file://")
    elif "://" in mirror:
        return [mirror.rstrip("/") + "/" + entry.name, *entry.urls]
    return [str(Path(mirror).expanduser() / entry.name), *entry.urls]


def fetch_file(
    entry: ModelFile,
    dest_dir: Path | None = None,
    *,
    mirror: str | os.PathLike | None = None,
    progressbar: bool = True,
    timeout: float = 30,
) -> Path:
    """Make sure ``dest_dir/entry.name`` exists with the right hash; download it if not.

    Sources are tried in order: ``mirror`` (a folder or URL base), then the registry's URLs.
    Any failure - HTTP error, timeout, wrong hash, an HTML page - moves on to the next one.

    Raises
    ------
    ModelDownloadError
        When every source failed; the message lists each source and why it failed, and
        says where to put the file by hand.
    """
    dest_dir = Path(dest_dir or MODEL_DIR)
    dest = dest_dir / entry.name
    if is_valid(dest, entry):
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    tried = []
    for source in _sources(entry, mirror):
        try:
            # The temporary file is renamed to dest only if the block succeeds; it has the
            # permissions your umask gives any new file (a classroom shares model/ as a mirror).
            with atomic_path(dest) as tmp:
                _fill_verified(tmp, source, entry, progressbar, timeout)
            return dest
        except Exception as exc:  # noqa: BLE001 - any failure means: try the next source
            tried.append((source, _reason(exc)))
    raise ModelDownloadError([FetchFailure(entry, dest, tuple(tried))])


def _failure_report(failures: list[FetchFailure]) -> str:
    """One message for every file that could not be fetched: the sources tried, and the way out."""

    def tried(failure: FetchFailure) -> str:
        return "\n".join(f"  - {source}\n      {reason}" for source, reason in failure.tried) or "  (no sources)"

    if len(failures) == 1:
        [failure] = failures
        head = f"Could not get {failure.entry.name} ({failure.entry.size:,} bytes). Every source failed:\n"
        head += tried(failure)
        fix = (
            "download the file by hand from any working copy (a classmate or instructor may have one), "
            f"check that its hash is {failure.entry.hash}, and put it at\n  {failure.dest}\n"
            f"or point {MIRROR_ENV} at a folder (or URL) that holds it"
        )
    else:
        names = ", ".join(f.entry.name for f in failures)
        head = f"Could not get {len(failures)} model files: {names}. Every source failed:"
        head += "".join(f"\n\n{f.entry.name} ({f.entry.size:,} bytes):\n{tried(f)}" for f in failures)
        fix = (
            "download each file by hand from any working copy (a classmate or instructor may have one), "
            "check its hash, and put it at\n"
            + "".join(f"  {f.dest}  ({f.entry.hash})\n" for f in failures)
            + f"or point {MIRROR_ENV} at a folder (or URL) that holds them"
        )
    text = f"{head}\n\nTo fix it: {fix} and run `python -m helpers fetch` again."
    shipped = [f.entry.name for f in failures if f.entry.in_repository]
    if shipped:
        text += f"\n{' and '.join(shipped)} came with the repository: `git checkout model/` restores the original."
    return text


def _reason(exc: BaseException) -> str:
    """Why a source failed, in one line: the innermost cause (refused, DNS, certificate...).

    requests wraps the real cause in layers that each repeat the URL, so follow them down.
    """
    inner, seen = exc, set()
    while id(inner) not in seen:
        seen.add(id(inner))
        nested = getattr(inner, "reason", None)
        if not isinstance(nested, BaseException):
            nested = next((a for a in inner.args if isinstance(a, BaseException)), None) or inner.__cause__
        if nested is None:
            break
        inner = nested
    text = " ".join(str(inner).split())
    if len(text) > 300:  # keep the end, where the cause is
        text = "..." + text[-297:]
    return f"{type(exc).__name__}: {text}"


def fetch_model(
    variant: str = "v2",
    *,
    dest_dir: Path | None = None,
    mirror: str | os.PathLike | None = None,
    progressbar: bool = True,
    timeout: float = 30,
) -> dict[str, Path]:
    """Fetch the files of a model variant that are missing or damaged in ``dest_dir``.

    Parameters
    ----------
    variant : {"v2", "v2_norebal"}
        ``v2`` is trained with class rebalancing (more vivid); ``v2_norebal`` without
        (safer, browner colours). Both share the prototxt and cluster centres.
    dest_dir : Path, optional
        Where the files go; ``model/`` by default.
    mirror : str or Path, optional
        A folder or URL base tried first. Defaults to ``$COLORIZE_MODEL_MIRROR``.
    progressbar, timeout
        Show a tqdm progress bar; seconds before a silent server counts as failed.

    Returns
    -------
    dict
        ``{file name: path}`` of the variant's files, all verified.

    Raises
    ------
    ModelDownloadError
        After trying every file: one message that names each file that could not be fetched.

    Notes
    -----
    Files already present with the right hash are not downloaded again, so calling this
    twice costs only the hash checks (about half a second for the 129 MB weights). The
    prototxt and cluster centres come with the repository; their hashes are checked too.
    """
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    paths, failures = {}, []
    for entry in variant_files(variant):
        try:
            paths[entry.name] = fetch_file(entry, dest_dir, mirror=mirror, progressbar=progressbar, timeout=timeout)
        except ModelDownloadError as exc:
            failures.extend(exc.failures)
    if failures:
        raise ModelDownloadError(failures)
    return paths
