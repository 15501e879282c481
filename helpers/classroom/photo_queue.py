"""Classroom app: students send photos from their phones; the class watches them colourised.

``python -m helpers app`` (or ``make app``) starts a small web server: one process, ONE loaded
network, and a queue in front of it. A notebook per student would hold a copy of the network
each (about 0.8 GB); here thirty students share one, and wait their turn with their place in the
queue shown. The server is Tornado, the web framework Jupyter itself runs on (already installed
with JupyterLab): asynchronous, so the page stays responsive while the network works in a
thread of its own.

* ``PhotoQueue``: the queue and its one worker thread. An upload is checked by its content
  (``check_upload``: an image type Pillow recognises, at most ``MAX_UPLOAD_MB`` and
  ``MAX_PIXELS``, not truncated), saved in a folder of its own in this session's folder,
  colourised with ``helpers.colorize`` and written next to it; a temperature change is a new
  job on the same photo. Phones take turns, at most ``MAX_WAITING_EACH`` photos each.
* ``make_app``: the pages and the JSON API; the teacher's page. ``serve`` runs them behind a
  guarded server (timeouts, a cap on connections, uploads read only after the access code).

Safe by default, for a room of 14-year-olds: the server listens on 127.0.0.1 (this computer
only) unless ``--host`` is given; then every request needs the access code printed at the start
(and shown as a QR code for phones), and wrong codes are slowed down. Each photo is its
owner's: only the phone that sent it (a secret in its cookie) sees the original, colours it
again or removes it; the class sees the results. The teacher (a key of their own) can hide or
remove any photo and pause the class. Nothing of the server's file system is reachable: files
are looked up by their job's random id, never by a path from the request. Uploads stay in this
session's folder, readable by this user only, and are deleted on request and when the server
stops (Ctrl+C, kill, a closed terminal); a session that crashed is cleaned up by the next start.
The page loads nothing from other hosts and sends nothing anywhere.

Introduced in the README, "Classroom".
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
import warnings
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from PIL import Image

from .colorize import DEFAULT_SIZE, colorize
from .image_files import open_image_file
from .images import write_image
from .model import check_temperature, get_temperature, set_temperature

MAX_UPLOAD_MB = 20
"""Largest upload: a phone photo is 2-8 MB; a scan may be more (shrink it first)."""
MAX_PIXELS = 40_000_000
"""Largest picture, in pixels (a 40-megapixel camera); the network sees 224 x 224 anyway, but
the result is made at full size, and that takes memory and time."""
MAX_WAITING = 200
"""Photos waiting at most; more are refused with a message (a class of 30 sends far fewer)."""
MAX_WAITING_EACH = 3
"""Photos one phone may have waiting (or being colourised) at once: no student can push the class back."""
MAX_WAITING_PER_ADDRESS = 6
"""The same for one network address (other than this computer's own): a phone that throws its
cookies away to look like many phones is still one address on the room's Wi-Fi."""
MAX_RESULT_PIXELS = 12_000_000
"""Larger photos are shrunk to this before colouring: a result a phone can show and download,
and a bounded amount of memory on the laptop however large the photo."""
THUMB_SIDE = 480
"""Longest side of the gallery's pictures: a phone scrolling a class's gallery loads these."""
MAX_SESSION_MB = 2000
"""Disk space the session's photos may take on the laptop: beyond, uploads are refused."""
ACCEPTED = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
            "MPO": ".jpg", "AVIF": ".avif"}
"""Image types accepted, as Pillow recognises them from the bytes (MPO: some phones' JPEGs)."""
RECEIVING = 4
"""Uploads read at once (each up to ``MAX_UPLOAD_MB`` in memory); more wait, unread."""
SMALL_BODY = 64 * 1024
"""Largest body of any other request (a temperature, as JSON)."""
MAX_CONNECTIONS = 4000
"""Open connections at most (a class of phones opens a few each; anyone on the Wi-Fi can open
thousands of slow ones): beyond it, the oldest connection is closed for each new one, so that a
flood never uses up the laptop's open files and a normal request still gets through. Lowered to
what the system allows (``serve`` raises its limit on open files as far as it may)."""
HEADER_SECONDS, BODY_SECONDS = 10, 120
"""A request's headers must arrive within this many seconds (also how long an idle connection is
kept), its body (an upload of up to 20 MB over a slow Wi-Fi) within that many."""
OWNER_COOKIE, SESSION_COOKIE, TEACHER_COOKIE = "classroom_owner", "classroom_session", "classroom_teacher"
"""Cookies: the phone's owner secret (its photos), and a random token for a phone that gave the
access code (never the code itself)."""
COOKIE_DAYS = 1
WRONG_CODES_ALLOWED, WRONG_CODE_PAUSE = 5, 2.0
"""After this many wrong access codes from one address, each further try waits this many seconds
more (doubling, up to a minute): guessing a 6-letter code becomes hopeless, a typo costs nothing."""
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}
"""The first bytes of HEIC/HEIF files (after "ftyp"), which Pillow does not read."""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Access-code letters: no 0/O or 1/I, easy to read off a projector."""
PAGE = Path(__file__).with_name("classroom_page.html")
TEACHER_PAGE = Path(__file__).with_name("classroom_teacher.html")


class UploadError(ValueError):
    """An upload refused, with a message for the student."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_upload(data: bytes) -> str:
    """The Pillow format of an uploaded image, or ``UploadError`` saying why it is refused.

    Checked by content, never by the file's name: the type, the size in bytes and pixels,
    and a full decode (a truncated JPEG is refused here, not later in the queue).
    """
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise UploadError(f"This file is {len(data) / 1024**2:.0f} MB: the limit is {MAX_UPLOAD_MB} MB. "
                          "Send a smaller photo.", 413)
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


@dataclass
class Job:
    """One photo (at one temperature) in the queue."""

    id: str
    name: str
    """The file's name as the student's device gave it: shown, never used as a path."""
    source: Path
    """The upload, in the photo's own folder (named by the id of its first job): all its files are there."""
    temperature: float
    owner: str
    """A secret only the uploader's phone knows (all its photos share it): needed to see the gray
    "before", to re-run at another temperature and to remove the photo."""
    state: str = "waiting"
    """waiting, working, done or failed."""
    error: str | None = None
    seconds: float | None = None
    created: float = field(default_factory=time.time)
    address: str | None = None
    """The network address it came from: a script that drops its cookies gets a new owner each time,
    but not a new address (``MAX_WAITING_PER_ADDRESS``)."""


class PhotoQueue:
    """One network, one worker thread, photos colourised in the order they came.

    Photos are served in turns between phones (round-robin by ``Job.owner``), so a phone that
    sends ten photos waits for its next one behind everyone else's first, and each phone has at
    most ``MAX_WAITING_EACH`` photos in the queue.

    Parameters
    ----------
    net : ColorizationNet
        From ``load_model`` (any back end); used by the worker thread only.
    folder : Path
        This session's folder: uploads and results, nothing else. Created; removed by ``close``.
    size : int
        Network input size.
    """

    def __init__(self, net, folder: Path, size: int = DEFAULT_SIZE) -> None:
        self.net, self.folder, self.size = net, Path(folder), size
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting: dict[str, deque[str]] = {}  # owner -> the ids of their waiting jobs, in order
        self._turns: deque[str] = deque()  # owners with waiting jobs, in the order they are served
        self._working: Job | None = None
        self.pace: float | None = None
        """Seconds a photo takes, smoothed over the last few: how long a place in the queue waits."""
        self.paused = False
        """Set by the teacher: new photos are refused for now (those in the queue go on)."""
        self.hidden: set[Path] = set()
        """Photos (their upload's path) the teacher took off the gallery and the projector."""
        self._lock = threading.Condition()
        self._closed = False
        self.done_count = 0
        # uploads are decoded (checked) two at a time: memory stays bounded however many arrive at once
        self.checker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="check-upload")
        self._thread = threading.Thread(target=self._work, name="colourise", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ for the web handlers
    def add(self, data: bytes, name: str, temperature: float, owner: str | None = None,
            address: str | None = None) -> Job:
        """Check an upload and queue it for ``owner`` (a new one if None: the job says it), sent from
        network ``address``; ``UploadError`` if it is refused (nothing is kept then)."""
        check_temperature(temperature)
        owner = owner or new_secret()
        self._room(owner, address)
        fmt = check_upload(data)
        self._room(owner, address)  # checked again: the check took a moment
        used = _bytes_in(self.folder)
        if used + 3 * len(data) > MAX_SESSION_MB * 1024**2:  # the upload, its result, its gray and thumbnail
            raise UploadError(f"The class's photos fill the space this app may use on the laptop ({MAX_SESSION_MB} "
                              "MB): ask your teacher to remove some.", 507)
        job_id = secrets.token_urlsafe(9)
        folder = self.folder / job_id  # the photo's own folder: its upload, its gray version, its results
        folder.mkdir()
        source = folder / f"upload{ACCEPTED[fmt]}"
        source.write_bytes(data)
        return self._queue(Job(job_id, _display_name(name), source, temperature, owner, address=address))

    def again(self, job_id: str, temperature: float, owner: str) -> Job:
        """The same photo at another temperature, for its owner only: a new job, so the first result stays."""
        check_temperature(temperature)
        first = self.jobs.get(job_id)
        if first is None or not first.source.is_file():
            raise UploadError("This photo is no longer here.", 404)
        if not _same_secret(first.owner, owner):
            raise UploadError("Only the phone that sent this photo can colour it again.", 403)
        self._room(owner, first.address)
        return self._queue(Job(secrets.token_urlsafe(9), first.name, first.source, temperature, first.owner,
                               address=first.address))

    def position(self, job: Job) -> int:
        """1 = next; 0 when it is not waiting."""
        with self._lock:
            order = self._order()
            return order.index(job.id) + 1 if job.id in order else 0

    def waiting_count(self) -> int:
        with self._lock:
            return sum(map(len, self._waiting.values()))

    def owns(self, job: Job, owner: str | None) -> bool:
        return owner is not None and _same_secret(job.owner, owner)

    def remove(self, job_id: str, owner: str | None = None) -> bool:
        """Delete a photo's files and every job made from it: with the uploader's secret, or without
        one (``owner=None``) for the teacher."""
        job = self.jobs.get(job_id)
        if job is None or (owner is not None and not self.owns(job, owner)):
            return False
        with self._lock:
            self.hidden.discard(job.source)
            for other in [j for j in self.jobs.values() if j.source == job.source]:
                self.jobs.pop(other.id)
                queue = self._waiting.get(other.owner)
                if queue is not None and other.id in queue:
                    queue.remove(other.id)
                    if not queue:
                        del self._waiting[other.owner]
                        self._turns.remove(other.owner)
            shutil.rmtree(job.source.parent, ignore_errors=True)
        return True

    def clear(self) -> int:
        """The teacher's "clear": every photo and its files go; returns how many photos."""
        photos = {job.source: job.id for job in list(self.jobs.values())}
        return sum(self.remove(job_id) for job_id in photos.values())

    def result_path(self, job: Job) -> Path:
        return job.source.parent / f"{job.id}_color.jpg"

    def gray_path(self, job: Job) -> Path:
        return job.source.parent / "gray.jpg"

    def thumb_path(self, job: Job) -> Path:
        return job.source.parent / f"{job.id}_thumb.jpg"

    def close(self) -> None:
        """Stop the worker and delete this session's folder."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=30)
        self.checker.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ inside
    def _room(self, owner: str, address: str | None = None) -> None:
        with self._lock:
            if self.paused:
                raise UploadError("Your teacher has paused new photos for a moment: try again soon.", 503)
            waiting = sum(map(len, self._waiting.values()))
            if waiting >= MAX_WAITING:
                raise UploadError(f"The queue is full ({waiting} photos waiting): try again in a minute.", 503)
            mine = len(self._waiting.get(owner, ())) + (self._working is not None and self._working.owner == owner)
            if mine >= MAX_WAITING_EACH:
                raise UploadError(f"You already have {mine} photos in the queue: send the next one when one of them "
                                  "is done.", 429)
            if address and not _is_loopback(address):
                queued = [j for j in [self._working, *(self.jobs[i] for q in self._waiting.values() for i in q)]
                          if j is not None and j.address == address]
                if len(queued) >= MAX_WAITING_PER_ADDRESS:
                    raise UploadError(f"This device already has {len(queued)} photos in the queue: send the next one "
                                      "when one of them is done.", 429)

    def _queue(self, job: Job) -> Job:
        with self._lock:
            self.jobs[job.id] = job
            if job.owner not in self._waiting:
                self._waiting[job.owner] = deque()
                self._turns.append(job.owner)
            self._waiting[job.owner].append(job.id)
            self._lock.notify()
        return job

    def _next(self) -> Job:
        """The next job in turn (call with the lock held, something waiting): the first owner's first photo."""
        owner = self._turns.popleft()
        job_id = self._waiting[owner].popleft()
        if self._waiting[owner]:
            self._turns.append(owner)  # their next photo after everyone else's
        else:
            del self._waiting[owner]
        return self.jobs[job_id]

    def _order(self) -> list[str]:
        """The waiting jobs' ids in the order they will be served (call with the lock held)."""
        queues = [self._waiting[owner] for owner in self._turns]
        return [queue[k] for k in range(max(map(len, queues), default=0)) for queue in queues if k < len(queue)]

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._working = self._next()
                job.state = "working"
            started = time.perf_counter()
            try:
                self._colorize(job)
            except MemoryError:
                job.state, job.error = "failed", "Not enough memory for this photo: send a smaller one."
            except (OSError, ValueError) as exc:
                job.state, job.error = "failed", f"This photo could not be colourised: {exc}"
            else:
                job.state = "done"
                self.done_count += 1
            job.seconds = time.perf_counter() - started
            with self._lock:
                self._working = None
                self.pace = job.seconds if self.pace is None else 0.7 * self.pace + 0.3 * job.seconds
                if not any(j.source == job.source for j in self.jobs.values()):  # removed meanwhile
                    shutil.rmtree(job.source.parent, ignore_errors=True)  # leave nothing behind

    def _colorize(self, job: Job) -> None:
        picture = next(open_image_file(job.source).pictures())  # turned upright (phones), first frame
        image = _at_most(picture.image, MAX_RESULT_PIXELS)
        if get_temperature(self.net) != round(job.temperature, 6):
            set_temperature(self.net, job.temperature)
        result = colorize(image, self.net, size=self.size)
        gray = self.gray_path(job)
        if not gray.exists():
            gray_bgr = cv2.cvtColor(result, cv2.COLOR_BGR2GRAY)  # what the network saw: the photo's lightness
            write_image(gray, gray_bgr)
        write_image(self.result_path(job), result)
        write_image(self.thumb_path(job), _at_most(result, THUMB_SIDE**2 * 3 // 4))


def _is_loopback(address: str) -> bool:
    """Whether a client address is this computer itself (the teacher's own browser, a test)."""
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _bytes_in(folder: Path) -> int:
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


def _at_most(image, pixels: int):
    """``image`` (a NumPy picture) shrunk to at most ``pixels`` pixels, its shape kept; itself if smaller."""
    h, w = image.shape[:2]
    if h * w <= pixels:
        return image
    scale = (pixels / (h * w)) ** 0.5
    return cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def _display_name(name: str) -> str:
    """The file name a device sent, made harmless for showing (no folders, no control characters)."""
    name = Path(name.replace("\\", "/")).name if name else "photo"
    name = "".join(c for c in name if c.isprintable())[:80]
    return name or "photo"


FOLDER_PREFIX = "colorize-classroom-"


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
        return time.time() - stat.st_mtime > 24 * 3600
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False
    return False


def new_secret() -> str:
    """A new random secret: a phone's owner secret (it names the owner of all the photos that phone
    sends), or the token of a session that gave the access code or the teacher's key."""
    return secrets.token_urlsafe(18)


def _same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets typed or sent by anyone: any text, never an error."""
    return secrets.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def teacher_key() -> str:
    """A new key for the teacher's page: long, random, printed in the terminal only."""
    return secrets.token_urlsafe(12)


def access_code() -> str:
    """A new 6-letter access code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


# --------------------------------------------------------------------------- the web side
def make_app(queue: PhotoQueue, code: str | None = None, join: dict | None = None, teacher: str | None = None,
             notice: str | None = None):
    """The Tornado application: pages, JSON API and result files, behind the access code if given.
    ``join["url"]``: the address students open (for the projector's QR code). ``teacher``: the
    key of the teacher's page (``/teacher?key=...``: remove or hide any photo, pause, clear).
    ``notice``: a line every page shows (that the model is a stand-in whose colours are noise)."""
    join = join if join is not None else {}
    import tornado.httputil
    import tornado.web

    sessions: set[str] = set()  # tokens of phones that gave the access code
    teachers: set[str] = set()  # tokens of browsers that opened the teacher's page with its key
    wrong = WrongCodes()

    class Base(tornado.web.RequestHandler):
        def set_default_headers(self) -> None:
            # the page and its script come from here and nowhere else; no referrer leaks
            self.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "
                            "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
            self.set_header("Referrer-Policy", "no-referrer")
            self.set_header("X-Content-Type-Options", "nosniff")

        def is_teacher(self) -> bool:
            return self.get_cookie(TEACHER_COOKIE) in teachers

        async def prepare(self) -> None:
            if code is None or self.is_teacher():
                return
            session = self.get_cookie(SESSION_COOKIE)
            if session is not None and session in sessions:
                return
            given = self.get_argument("code", None) or self.request.headers.get("X-Access-Code")
            if given is not None:
                pause = wrong.pause(self.request.remote_ip)
                if pause:
                    await asyncio.sleep(pause)  # this address guessed wrong too often
                if _same_secret(given.strip().upper(), code):
                    wrong.forget(self.request.remote_ip)
                    self.open_session(SESSION_COOKIE, sessions)
                    if self.request.method == "GET" and self.get_argument("code", None) and \
                            not self.request.path.startswith("/api/"):
                        self.redirect(self.request.path)  # the code leaves the address bar and the history
                    return
                wrong.count(self.request.remote_ip)
            self.set_status(403)
            if self.request.path.startswith("/api/"):
                self.finish({"error": "Wrong or missing access code: ask your teacher for it."})
            else:
                self.finish(_code_page(given is not None))

        def keep_cookie(self, name: str, value: str) -> None:
            """A cookie this page's script cannot read and no other site can send."""
            self.set_cookie(name, value, httponly=True, samesite="Strict", expires_days=COOKIE_DAYS)

        def open_session(self, name: str, tokens: set[str]) -> None:
            """A new random token in cookie ``name``, remembered in ``tokens`` (never the code or key itself)."""
            token = new_secret()
            tokens.add(token)
            self.keep_cookie(name, token)

        def html(self, page: Path) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(page.read_text(encoding="utf-8"))

        def owner(self) -> str | None:
            """This phone's owner secret: the cookie, or the X-Owner header (scripts)."""
            return self.request.headers.get("X-Owner") or self.get_cookie(OWNER_COOKIE)

        def log_exception(self, typ, value, tb) -> None:
            """One line for an error in the app, not a traceback: the terminal stays readable in class."""
            import logging

            if not isinstance(value, tornado.web.HTTPError):
                logging.getLogger("tornado.application").error("%s %s failed: %s: %s", self.request.method,
                                                               self.request.path, typ.__name__, value)

        def fail(self, exc: UploadError) -> None:
            self.set_status(exc.status)
            self.finish({"error": str(exc)})

        def job_or_404(self, job_id: str) -> Job | None:
            job = queue.jobs.get(job_id)
            if job is None:
                self.set_status(404)
                self.finish({"error": "No such photo (it may have been removed)."})
            return job

    class Page(Base):
        def get(self) -> None:
            self.html(PAGE)

    receiving = asyncio.Semaphore(RECEIVING)

    @tornado.web.stream_request_body
    class Photos(Base):
        """An upload: read only after the access code is checked, and at most ``RECEIVING`` at once."""

        body: bytearray | None = None

        async def prepare(self) -> None:
            await super().prepare()  # the access code: before a single byte of the body is read
            if self._finished:
                return
            try:
                length = int(self.request.headers.get("Content-Length", "0"))
            except ValueError:
                length = 0
            if length > (MAX_UPLOAD_MB + 1) * 1024**2:  # said before it is sent: a message, not a cut connection
                self.fail(UploadError(f"This file is {length / 1024**2:.0f} MB: the limit is {MAX_UPLOAD_MB} MB. "
                                      "Send a smaller photo.", 413))
                return
            self.request.connection.set_max_body_size((MAX_UPLOAD_MB + 1) * 1024**2)
            await receiving.acquire()  # the others wait, unread (their phones simply send more slowly)
            self.body = bytearray()

        def data_received(self, chunk: bytes) -> None:
            self.body += chunk

        def on_finish(self) -> None:
            if self.body is not None:
                self.body = None
                receiving.release()

        on_connection_close = on_finish

        async def post(self) -> None:
            arguments: dict = {}
            files: dict = {}
            tornado.httputil.parse_body_arguments(self.request.headers.get("Content-Type", ""), bytes(self.body),
                                                  arguments, files, self.request.headers)
            self.body = bytearray()  # the copy above is what is used: let this one go
            files = files.get("photo")
            if not files:
                return self.fail(UploadError("No photo in the request (the form field is 'photo')."))
            upload = files[0]
            try:
                given = arguments.get("temperature", [str(get_temperature(queue.net)).encode()])[0]
                temperature = float(given.decode("utf-8", "replace"))
                # decoding a large photo takes a moment: off the event loop, so other students are served
                loop = asyncio.get_running_loop()
                owner = self.owner() or new_secret()
                job = await loop.run_in_executor(queue.checker, queue.add, upload.body, upload.filename,
                                                 temperature, owner, self.request.remote_ip)
            except UploadError as exc:
                return self.fail(exc)
            except ValueError as exc:
                return self.fail(UploadError(str(exc)))
            self.keep_cookie(OWNER_COOKIE, job.owner)
            self.set_status(202)
            self.finish({**_status(queue, job, mine=True), "owner": job.owner})

    class PhotoStatus(Base):
        def get(self, job_id: str) -> None:
            job = self.job_or_404(job_id)
            if job is not None:
                self.finish(_status(queue, job, mine=queue.owns(job, self.owner())))

        def delete(self, job_id: str) -> None:
            if not queue.remove(job_id, self.owner() or ""):
                self.set_status(404)
                return self.finish({"error": "Only the phone that sent this photo can remove it."})
            self.finish({"removed": job_id})

    class Again(Base):
        def post(self, job_id: str) -> None:
            try:
                body = json.loads(self.request.body or b"{}")
                job = queue.again(job_id, float(body.get("temperature", 0)), self.owner() or "")
            except UploadError as exc:
                return self.fail(exc)
            except (ValueError, TypeError) as exc:
                return self.fail(UploadError(str(exc)))
            self.set_status(202)
            self.finish(_status(queue, job, mine=True))

    class Gallery(Base):
        def get(self) -> None:  # results only: the gray "before" is its owner's; not what the teacher hid
            done = [_status(queue, j) for j in list(queue.jobs.values())
                    if j.state == "done" and j.source not in queue.hidden]
            self.finish({"photos": done[::-1], "waiting": queue.waiting_count(), "paused": queue.paused,
                         "notice": notice,
                         "join": {"url": (join.get("url") or "").split("?")[0], "code": code}})

    class Mine(Base):
        def get(self) -> None:  # this phone's photos, oldest first: the page shows them again after a reload
            owner = self.owner()
            self.finish({"photos": [_status(queue, j, mine=True) for j in list(queue.jobs.values())
                                    if queue.owns(j, owner)]})

    class TeacherBase(Base):
        async def prepare(self) -> None:
            key = self.get_argument("key", None)
            if teacher is not None and key is not None and _same_secret(key, teacher):
                self.open_session(TEACHER_COOKIE, teachers)
                if self.request.path == "/teacher":
                    self.redirect("/teacher")  # the key leaves the address bar
            elif not self.is_teacher():
                self.set_status(404)  # no hint that a teacher's page exists
                self.finish({"error": "Not found."})

    class TeacherPage(TeacherBase):
        def get(self) -> None:
            self.html(TEACHER_PAGE)

    class TeacherState(TeacherBase):
        def get(self) -> None:
            phones: dict[str, int] = {}  # owners by number, in the order they first sent: no secrets shown
            jobs = list(queue.jobs.values())
            for job in jobs:
                phones.setdefault(job.owner, len(phones) + 1)
            self.finish({"paused": queue.paused, "waiting": queue.waiting_count(), "photos": [
                {**_status(queue, j), "phone": phones[j.owner], "hidden": j.source in queue.hidden}
                for j in reversed(jobs)]})

        def post(self) -> None:
            try:
                body = json.loads(self.request.body or b"{}")
            except ValueError:
                body = {}
            action, job = body.get("action"), queue.jobs.get(str(body.get("id", "")))
            if action == "pause":
                queue.paused = bool(body.get("paused"))
            elif action == "clear":
                queue.clear()
            elif action in ("remove", "hide", "show") and job is not None:
                if action == "remove":
                    queue.remove(job.id)
                elif action == "hide":
                    queue.hidden.add(job.source)
                else:
                    queue.hidden.discard(job.source)
            else:
                self.set_status(400)
                return self.finish({"error": "Unknown action, or no such photo."})
            self.get()

    class Files(Base):
        def get(self, job_id: str, kind: str) -> None:
            job = self.job_or_404(job_id)
            if job is None:
                return
            if kind == "gray" and not queue.owns(job, self.owner()):
                self.set_status(404)
                return self.finish({"error": "Only the phone that sent this photo sees its original."})
            path = {"color": queue.result_path, "gray": queue.gray_path, "thumb": queue.thumb_path}[kind](job)
            try:
                data = path.read_bytes()
            except OSError:  # not made yet, or removed a moment ago
                self.set_status(404)
                return self.finish({"error": "Not ready yet (or removed)."})
            self.set_header("Content-Type", "image/jpeg")
            self.set_header("Cache-Control", "private, no-cache")  # asked again each time: a removal shows at once
            if self.get_argument("download", None):
                self.set_header("Content-Disposition", _attachment(f"{Path(job.name).stem or 'photo'}_color.jpg"))
            self.finish(data)

    class Qr(Base):
        def get(self) -> None:
            if not join.get("url"):
                self.set_status(404)
                return self.finish({"error": "No address yet."})
            self.set_header("Content-Type", "image/svg+xml")
            self.set_header("Cache-Control", "no-store")
            self.finish(qr_svg(join["url"]))

    return tornado.web.Application([
        (r"/", Page),
        (r"/qr\.svg", Qr),
        (r"/api/photos", Photos),
        (r"/api/photos/([A-Za-z0-9_-]{6,20})", PhotoStatus),
        (r"/api/photos/([A-Za-z0-9_-]{6,20})/again", Again),
        (r"/api/gallery", Gallery),
        (r"/api/mine", Mine),
        (r"/teacher", TeacherPage),
        (r"/api/teacher", TeacherState),
        (r"/files/([A-Za-z0-9_-]{6,20})/(gray|color|thumb)\.jpg", Files),
    ], debug=False, xsrf_cookies=False, log_function=_log_request)


def _status(queue: PhotoQueue, job: Job, *, mine: bool = False) -> dict:
    """A job as the page sees it; the gray "before" (the photo itself) only for its owner (``mine``)."""
    ready, position = job.state == "done", queue.position(job)
    return {"id": job.id, "name": job.name, "state": job.state, "position": position,
            "wait": None if not position or queue.pace is None else round(position * queue.pace, 1),
            "temperature": job.temperature, "error": job.error,
            "seconds": None if job.seconds is None else round(job.seconds, 2),
            "gray": f"/files/{job.id}/gray.jpg" if ready and mine else None,
            "color": f"/files/{job.id}/color.jpg" if ready else None,
            "thumb": f"/files/{job.id}/thumb.jpg" if ready else None}


def _log_request(handler) -> None:
    """One line for a request that failed on the server's side; none for the rest (a wrong code, a
    refused upload: the student's page says it), so a class or a guesser cannot flood the terminal."""
    if handler.get_status() >= 500:
        import logging

        logging.getLogger("tornado.access").error("%d %s %s", handler.get_status(), handler.request.method,
                                                  handler.request.path)


def _attachment(name: str) -> str:
    """A Content-Disposition header for a download named ``name``, any script (RFC 6266 and 5987):
    an ASCII fallback for old browsers, and the name itself in UTF-8."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class WrongCodes:
    """Wrong access codes per client address, and how long the next try from there must wait."""

    def __init__(self) -> None:
        self._wrong: dict[str, int] = {}

    def count(self, address: str) -> None:
        if len(self._wrong) > 10_000:  # a flood from many addresses: forget, rather than grow without end
            self._wrong.clear()
        self._wrong[address] = self._wrong.get(address, 0) + 1

    def forget(self, address: str) -> None:
        self._wrong.pop(address, None)

    def pause(self, address: str) -> float:
        extra = self._wrong.get(address, 0) - WRONG_CODES_ALLOWED
        return 0.0 if extra < 0 else min(60.0, WRONG_CODE_PAUSE * 2 ** min(extra, 5))


def _code_page(wrong: bool) -> str:
    hint = "<p class=wrong>That code is not right.</p>" if wrong else ""
    return ("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            "<title>Colourise: access code</title><body style='font-family:sans-serif;max-width:30em;margin:2em auto'>"
            f"<h1>Access code</h1>{hint}<p>Ask your teacher for the code on the projector.</p>"
            "<form method=get action='/'><input name=code autocapitalize=characters autofocus "
            "style='font-size:2em;width:8em'> <button style='font-size:1.5em'>Go</button></form>")


def _open_files_limit(wanted: int) -> int:
    """Connections this process may keep open: ``wanted``, or less where the system allows fewer
    open files (raised to the most this user may have, which needs no privileges)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 256 if hard == resource.RLIM_INFINITY else min(hard, wanted + 256)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(16, min(wanted, soft - 256))


def join_url(host: str, listening: str, code: str | None) -> str:
    """The address students open: this computer's address on the local network when listening on
    all of them (found without sending anything), with the access code for the QR code."""
    url = listening
    if host in ("0.0.0.0", "::"):
        import socket

        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: picks the outgoing interface, sends no packet
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
        finally:
            probe.close()
        url = listening.replace(f"//{host}:", f"//{address}:")
    return f"{url}?code={code}" if code else url


def qr_text(url: str) -> str:
    """A QR code of ``url`` drawn with text blocks, for the terminal (phones scan it off the projector)."""
    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=2)
    return out.getvalue()


def serve(net, *, host: str = "127.0.0.1", port: int = 8000, folder: Path, size: int = DEFAULT_SIZE,
          code: str | None = None, teacher: str | None = None, notice: str | None = None, ready=None,
          stop: threading.Event | None = None) -> None:
    """Run the app until interrupted (or ``stop`` is set); ``ready(url, queue)`` is called once it
    listens (``port=0``: any free port). ``teacher``: the key of the teacher's page; ``notice``: a
    line every page shows. The session's folder is removed at the end."""
    import tornado.httpserver
    import tornado.netutil

    queue = PhotoQueue(net, folder, size)
    join: dict = {}

    limit = _open_files_limit(MAX_CONNECTIONS)

    class GuardedServer(tornado.httpserver.HTTPServer):
        """Tornado's server with a cap on open connections: the oldest goes for a new one (a
        flood's slow connections are the old ones), and one log line a minute while it happens."""

        closed, said = 0, 0.0
        streams: deque = deque()

        def handle_stream(self, stream, address) -> None:
            self.streams.append(stream)
            while len(self.streams) > limit:
                oldest = self.streams.popleft()
                if not oldest.closed():
                    oldest.close()
                    self.closed += 1
            if self.closed and time.monotonic() - self.said > 60:
                self.said = time.monotonic()
                print(f"Classroom app: more than {limit} connections open; the oldest are closed ({self.closed} so "
                      "far). Someone on the network may be flooding the app.", flush=True)
            if len(self.streams) > 2 * limit or (self.streams and self.streams[0].closed()):
                self.streams = deque(s for s in self.streams if not s.closed())  # forget the closed ones
            super().handle_stream(stream, address)

    async def main() -> None:
        server = GuardedServer(make_app(queue, code, join, teacher, notice), max_body_size=SMALL_BODY,
                               max_buffer_size=(MAX_UPLOAD_MB + 1) * 1024**2, max_header_size=16 * 1024,
                               idle_connection_timeout=HEADER_SECONDS, body_timeout=BODY_SECONDS)
        sockets = tornado.netutil.bind_sockets(port, host)
        server.add_sockets(sockets)
        listening = f"http://{'localhost' if host == '127.0.0.1' else host}:{sockets[0].getsockname()[1]}/"
        join["url"] = join_url(host, listening, code)
        if ready is not None:
            ready(listening, queue)
        if stop is None:
            await asyncio.Event().wait()
        else:
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        server.stop()

    try:
        asyncio.run(main())
    finally:
        queue.close()
