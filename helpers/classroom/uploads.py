"""What a student may send, checked by its content, and the session's folder it is kept in: the classroom app.

An upload is a photo when Pillow recognises its bytes as one of the ``ACCEPTED`` types, it is at
most ``MAX_UPLOAD_MB`` and ``MAX_PIXELS``, and it decodes completely; the file's name is shown,
never used as a path. Uploads stay in this session's folder, readable by this user only; a session
that crashed (killed, the terminal closed) is cleaned up by the next start (``session_folder``).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from PIL import Image

MAX_UPLOAD_MB = 20
"""Largest upload: a phone photo is 2-8 MB; a scan may be more (shrink it first)."""
MAX_PIXELS = 40_000_000
"""Largest picture, in pixels (a 40-megapixel camera); the network sees 224 x 224 anyway, but
the result is made at full size, and that takes memory and time."""
ACCEPTED = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
            "MPO": ".jpg", "AVIF": ".avif"}
"""Image types accepted, as Pillow recognises them from the bytes (MPO: some phones' JPEGs)."""
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}
"""The first bytes of HEIC/HEIF files (after "ftyp"), which Pillow does not read."""
FOLDER_PREFIX = "colorize-classroom-"
"""Start of the name of a session's folder (in the system's temporary folder), then the process id."""
LEFT_BEHIND_SECONDS = 24 * 3600
"""Age after which a session folder named without a process id (an older version's) is removed."""


class UploadError(ValueError):
    """An upload refused, with a message for the student and the HTTP ``status`` to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def too_large(size_bytes: int) -> UploadError:
    """The refusal of a file of ``size_bytes`` over ``MAX_UPLOAD_MB`` (413), the same whether the phone
    announced the size before sending or the bytes arrived."""
    return UploadError(f"This file is {size_bytes / 1024**2:.0f} MB: the limit is {MAX_UPLOAD_MB} MB. "
                       "Send a smaller photo.", 413)


def check_upload(data: bytes) -> str:
    """The Pillow format of an uploaded image (a key of ``ACCEPTED``), or ``UploadError`` saying why it is refused.

    Checked by content, never by the file's name: the type, the size in bytes and pixels,
    and a full decode (a truncated JPEG is refused here, not later in the queue).
    """
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise too_large(len(data))
    if not data:
        raise UploadError("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt, (width, height) = im.format, im.size
                if fmt not in ACCEPTED:
                    article = "an" if fmt[:1] in "AEFHILMNORSX" else "a"  # as the letters are spoken
                    raise UploadError(f"This is {article} {fmt} file, not a photo this app reads "
                                      f"({', '.join(sorted(set(ACCEPTED) - {'MPO'}))}).", 415)
                if width * height > MAX_PIXELS:
                    raise UploadError(f"This picture has {width * height / 1e6:.0f} megapixels: the limit is "
                                      f"{MAX_PIXELS / 1e6:.0f}. Shrink it first.", 413)
                im.load()  # a full decode: damage shows now
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(f"This picture is too large to open safely (over {MAX_PIXELS / 1e6:.0f} megapixels).",
                          413) from None
    except Image.UnidentifiedImageError:
        if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
            raise UploadError("This is a HEIC photo (an iPhone's usual kind), which this app cannot read. Send it "
                              "as a JPEG: on the iPhone, Settings > Camera > Formats > Most Compatible, or share "
                              "the photo with 'Options' > 'Most Compatible'.", 415) from None
        raise UploadError("This is not a photo (or a kind of picture this app does not read): send a JPEG, PNG, "
                          "WebP, AVIF, GIF, BMP or TIFF file.", 415) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UploadError(f"This photo is damaged or cut off, so it cannot be read ({exc}). Send it again or "
                          "pick another.") from None
    return fmt


def display_name(name: str) -> str:
    """The file name a device sent, made harmless for showing (no folders, no control characters)."""
    name = Path(name.replace("\\", "/")).name if name else "photo"
    name = "".join(c for c in name if c.isprintable())[:80]
    return name or "photo"


def bytes_in(folder: Path) -> int:
    """Bytes of the files in ``folder`` and its folders; files that go meanwhile (a result renamed into
    place by the worker thread, a photo removed) simply do not count."""
    total = 0
    for parent, _, names in os.walk(folder):  # a folder that goes meanwhile is skipped, not an error
        for name in names:
            try:
                total += os.stat(os.path.join(parent, name)).st_size
            except OSError:
                continue
    return total


def session_folder(parent: Path | None = None) -> Path:
    """A new folder for this session's uploads, readable by this user only, named with this
    process's id; folders that sessions of this app left behind (their process is gone: killed,
    crashed, the terminal closed) are removed first, with the photos in them."""
    parent = Path(parent or tempfile.gettempdir())
    for old in parent.glob(f"{FOLDER_PREFIX}*"):
        if _left_behind(old):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=parent))  # mode 0700


def _left_behind(folder: Path) -> bool:
    """Whether ``folder`` is this user's and its session's process is gone (a folder named without a
    process id, by an older version of this app, counts as left behind once a day old)."""
    try:
        stat = folder.lstat()
    except OSError:
        return False
    if not folder.is_dir() or folder.is_symlink() or (hasattr(os, "getuid") and stat.st_uid != os.getuid()):
        return False
    pid = folder.name.removeprefix(FOLDER_PREFIX).split("-")[0]
    if not pid.isdigit():
        return time.time() - stat.st_mtime > LEFT_BEHIND_SECONDS
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False
    return False
