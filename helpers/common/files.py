"""Files written safely: whole or not at all, readable as your umask allows, one run per folder.

* ``atomic_path`` gives a temporary name beside the file to write; the file appears under its
  real name only when the writing succeeded (a rename), so a crash never leaves half a photo,
  frame or video under a name that looks finished.
* Temporary names carry the writer's process id (``.coffee.jpg.4242-1a2b3c4d.part``), so the
  next run can tell the leftovers of a killed run from the work of a live one
  (``remove_stale_parts``).
* ``FolderLock`` lets only one run at a time work in a folder (the frames of a video).

Files are created with mode ``0o666`` and the kernel applies your umask, as for any program
(``tempfile.mkstemp`` would give ``0o600``: nobody else could read your results).

Introduced in notebook 03_video (why a frame file is always whole, and the frames folder's lock).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PART = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.part$")
"""Temporary files of ``atomic_path``: ``.<name>.<pid>-<8 hex digits>.part``."""
LOCK_NAME = ".lock"


def _part_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")


def new_part(path: str | os.PathLike) -> Path:
    """A new, empty temporary file beside ``path`` (parent folders created), named so that
    ``remove_stale_parts`` deletes it once its process is gone: write it, then ``os.replace`` it
    onto ``path`` (``atomic_path`` does both)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _part_name(path)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    return tmp


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write instead of ``path``; renamed to ``path`` if the block succeeds.

    The temporary file exists (empty, created with the umask's permissions) when the block
    starts; the block may write it with any library. On an exception it is removed and
    ``path`` is untouched. Parent folders are created.

    Examples
    --------
    >>> with atomic_path("out/result.txt") as tmp:   # doctest: +SKIP
    ...     tmp.write_text("done")
    """
    path = Path(path)
    tmp = new_part(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see ``atomic_path``); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's live process
        return True
    except OSError:
        return False
    return True


def remove_stale_parts(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the temporary files that killed runs left in ``folder``; returns what was deleted.

    Only files named by ``atomic_path`` whose process is gone are touched; with ``name``, only
    those of that file (in a folder shared with other programs).
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = PART.match(path.name)
        if match and not _alive(int(match.group(1))) and (name is None or path.name.startswith(f".{name}.")):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class FolderInUseError(RuntimeError):
    """Another run holds the folder's lock."""


class FolderLock:
    """Only one run at a time in ``folder``: ``with FolderLock(folder): ...``.

    The lock is an operating-system lock on ``<folder>/.lock`` (``fcntl.flock``; ``msvcrt`` on
    Windows), so it is released by the system when its process ends, even when killed: a lock
    left by a dead process is simply taken over. The file holds the owner's process id, for
    the message that another run gets.

    Raises
    ------
    FolderInUseError
        On entering, if another process holds the lock. Nothing in the folder is touched.
    """

    def __init__(self, folder: str | os.PathLike, what: str = "folder") -> None:
        self.folder, self.what = Path(folder), what
        self._file = None

    def __enter__(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock_file = open(self.folder / LOCK_NAME, "a+")  # noqa: SIM115 - kept open while locked
        try:
            _lock(lock_file)
        except OSError:
            lock_file.seek(0)
            owner = lock_file.read().strip() or "unknown"
            lock_file.close()
            raise FolderInUseError(
                f"The {self.what} {self.folder} is in use by process {owner} (another run). Wait for it to "
                "finish or stop it, or choose another folder. Nothing was changed."
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._file = lock_file
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None


def _lock(lock_file) -> None:
    """Take an exclusive lock on an open file without waiting; OSError if it is taken."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        lock_file.seek(0)
        msvcrt.locking(lock_file.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def looks_like_html(path: str | os.PathLike) -> bool:
    """True when the file starts like a web page (a login, error or "moved" page saved by mistake).

    A failed download often saves the server's HTML page under the model's name; OpenCV would then
    fail with an opaque parse error. Used by ``helpers.model.fetch`` and ``helpers.model``.
    """
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head"))


_digests: dict[tuple, str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """BLAKE2b of a file's contents (0.2 s for the 129 MB weights), remembered while the file is
    unchanged (same size and modification time): the same name with other weights is another model."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _digests[key] = digest.hexdigest()
    return _digests[key]
