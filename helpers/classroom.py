"""Classroom app: students send photos from their phones; the class watches them colourised.

``python -m helpers app`` (or ``make app``) starts a small web server: one process, ONE loaded
network, and a queue in front of it. A notebook per student would hold a copy of the network
each (about 0.8 GB); here thirty students share one, and wait their turn with their place in the
queue shown. The server is Tornado, the web framework Jupyter itself runs on (already installed
with JupyterLab): asynchronous, so the page stays responsive while the network works in a
thread of its own.

* ``PhotoQueue``: the queue and its one worker thread. An upload is checked by its content
  (``check_upload``: an image type Pillow recognises, at most ``MAX_UPLOAD_MB`` and
  ``MAX_PIXELS``, not truncated), saved in this session's folder, colourised with
  ``helpers.colorize`` and written next to it; a temperature change is a new job on the same
  photo.
* ``make_app``: the pages and the JSON API. ``serve`` runs them.

Safe by default: the server listens on 127.0.0.1 (this computer only) unless ``--host`` is
given; then every request needs the access code printed at the start (and shown as a QR code
for phones). Nothing of the server's file system is reachable: files are looked up by their
job's random id, never by a path from the request. Uploads stay in one folder of this session
and are deleted on request ("Remove") and when the server stops. The page loads nothing from
other hosts and sends nothing anywhere.

Introduced in the README, "Classroom".
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import shutil
import threading
import time
import warnings
from collections import OrderedDict
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
ACCEPTED = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
            "MPO": ".jpg"}
"""Image types accepted, as Pillow recognises them from the bytes (MPO: some phones' JPEGs)."""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Access-code letters: no 0/O or 1/I, easy to read off a projector."""
PAGE = Path(__file__).with_name("classroom_page.html")


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
                    raise UploadError(f"This is a {fmt} file, not a photo this app reads "
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
        raise UploadError("This is not a photo (or a kind of picture this app does not read): send a JPEG, PNG, "
                          "WebP, GIF, BMP or TIFF file.", 415) from None
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
    temperature: float
    owner: str
    """A secret only the uploader's page knows: needed to remove the photo."""
    state: str = "waiting"
    """waiting, working, done or failed."""
    error: str | None = None
    seconds: float | None = None
    created: float = field(default_factory=time.time)


class PhotoQueue:
    """One network, one worker thread, photos colourised in the order they came.

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
        self._waiting: list[str] = []
        self._lock = threading.Condition()
        self._closed = False
        self.done_count = 0
        # uploads are decoded (checked) two at a time: memory stays bounded however many arrive at once
        self.checker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="check-upload")
        self._thread = threading.Thread(target=self._work, name="colourise", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ for the web handlers
    def add(self, data: bytes, name: str, temperature: float) -> Job:
        """Check an upload and queue it; ``UploadError`` if it is refused (nothing is kept then)."""
        check_temperature(temperature)
        fmt = check_upload(data)
        self._room()
        job_id = secrets.token_urlsafe(9)
        source = self.folder / f"{job_id}_upload{ACCEPTED[fmt]}"
        source.write_bytes(data)
        return self._queue(Job(job_id, _display_name(name), source, temperature, secrets.token_urlsafe(12)))

    def again(self, job_id: str, temperature: float) -> Job:
        """The same photo at another temperature: a new job, so the first result stays."""
        check_temperature(temperature)
        first = self.jobs.get(job_id)
        if first is None or not first.source.is_file():
            raise UploadError("This photo is no longer here.", 404)
        self._room()
        return self._queue(Job(secrets.token_urlsafe(9), first.name, first.source, temperature, first.owner))

    def position(self, job: Job) -> int:
        """1 = next; 0 when it is not waiting."""
        with self._lock:
            return self._waiting.index(job.id) + 1 if job.id in self._waiting else 0

    def remove(self, job_id: str, owner: str) -> bool:
        """Delete a photo's files and every job made from it (only with the uploader's secret)."""
        job = self.jobs.get(job_id)
        if job is None or not secrets.compare_digest(job.owner, owner):
            return False
        with self._lock:
            for other in [j for j in self.jobs.values() if j.source == job.source]:
                self.jobs.pop(other.id)
                if other.id in self._waiting:
                    self._waiting.remove(other.id)
                self.result_path(other).unlink(missing_ok=True)
            job.source.unlink(missing_ok=True)
            self.gray_path(job).unlink(missing_ok=True)
        return True

    def result_path(self, job: Job) -> Path:
        return self.folder / f"{job.id}_color.jpg"

    def gray_path(self, job: Job) -> Path:
        return self.folder / f"{job.source.name.split('_')[0]}_gray.jpg"

    def close(self) -> None:
        """Stop the worker and delete this session's folder."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=30)
        self.checker.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ inside
    def _room(self) -> None:
        with self._lock:
            if len(self._waiting) >= MAX_WAITING:
                raise UploadError(f"The queue is full ({len(self._waiting)} photos waiting): try again in a "
                                  "minute.", 503)

    def _queue(self, job: Job) -> Job:
        with self._lock:
            self.jobs[job.id] = job
            self._waiting.append(job.id)
            self._lock.notify()
        return job

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self.jobs[self._waiting.pop(0)]
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
                if job.id not in self.jobs:  # removed while it was being colourised: leave nothing behind
                    self.result_path(job).unlink(missing_ok=True)
                    if not any(j.source == job.source for j in self.jobs.values()):
                        self.gray_path(job).unlink(missing_ok=True)

    def _colorize(self, job: Job) -> None:
        picture = next(open_image_file(job.source).pictures())  # turned upright (phones), first frame
        image = picture.image
        if get_temperature(self.net) != round(job.temperature, 6):
            set_temperature(self.net, job.temperature)
        result = colorize(image, self.net, size=self.size)
        gray = self.gray_path(job)
        if not gray.exists():
            gray_bgr = cv2.cvtColor(result, cv2.COLOR_BGR2GRAY)  # what the network saw: the photo's lightness
            write_image(gray, gray_bgr)
        write_image(self.result_path(job), result)


def _display_name(name: str) -> str:
    """The file name a device sent, made harmless for showing (no folders, no control characters)."""
    name = Path(name.replace("\\", "/")).name if name else "photo"
    name = "".join(c for c in name if c.isprintable())[:80]
    return name or "photo"


def access_code() -> str:
    """A new 6-letter access code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


# --------------------------------------------------------------------------- the web side
def make_app(queue: PhotoQueue, code: str | None = None, join: dict | None = None):
    """The Tornado application: pages, JSON API and result files, behind the access code if given.
    ``join["url"]``: the address students open (for the projector's QR code)."""
    join = join if join is not None else {}
    import tornado.web

    class Base(tornado.web.RequestHandler):
        def set_default_headers(self) -> None:
            # the page and its script come from here and nowhere else; no referrer leaks
            self.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "
                            "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
            self.set_header("Referrer-Policy", "no-referrer")
            self.set_header("X-Content-Type-Options", "nosniff")

        def prepare(self) -> None:
            if code is None:
                return
            given = self.get_argument("code", None) or self.get_cookie("classroom_code") or \
                self.request.headers.get("X-Access-Code")
            if given is None or not secrets.compare_digest(given.strip().upper(), code):
                self.set_status(403)
                if self.request.path.startswith("/api/"):
                    self.finish({"error": "Wrong or missing access code: ask your teacher for it."})
                else:
                    self.finish(_code_page(given is not None))
                return
            if self.get_argument("code", None):
                self.set_cookie("classroom_code", code, httponly=True, samesite="Strict")

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
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(PAGE.read_text(encoding="utf-8"))

    class Photos(Base):
        async def post(self) -> None:
            files = self.request.files.get("photo")
            if not files:
                return self.fail(UploadError("No photo in the request (the form field is 'photo')."))
            upload = files[0]
            try:
                temperature = float(self.get_body_argument("temperature", str(get_temperature(queue.net))))
                # decoding a large photo takes a moment: off the event loop, so other students are served
                loop = asyncio.get_running_loop()
                job = await loop.run_in_executor(queue.checker, queue.add, upload.body, upload.filename,
                                                 temperature)
            except UploadError as exc:
                return self.fail(exc)
            except ValueError as exc:
                return self.fail(UploadError(str(exc)))
            self.set_status(202)
            self.finish({**_status(queue, job), "owner": job.owner})

    class PhotoStatus(Base):
        def get(self, job_id: str) -> None:
            job = self.job_or_404(job_id)
            if job is not None:
                self.finish(_status(queue, job))

        def delete(self, job_id: str) -> None:
            owner = self.request.headers.get("X-Owner", "")
            if not queue.remove(job_id, owner):
                self.set_status(404)
                return self.finish({"error": "Only the phone that sent this photo can remove it."})
            self.finish({"removed": job_id})

    class Again(Base):
        def post(self, job_id: str) -> None:
            try:
                body = json.loads(self.request.body or b"{}")
                job = queue.again(job_id, float(body.get("temperature", 0)))
            except UploadError as exc:
                return self.fail(exc)
            except (ValueError, TypeError) as exc:
                return self.fail(UploadError(str(exc)))
            self.set_status(202)
            self.finish(_status(queue, job))

    class Gallery(Base):
        def get(self) -> None:
            done = [_status(queue, j) for j in queue.jobs.values() if j.state == "done"]
            self.finish({"photos": done[::-1], "waiting": len(queue._waiting)})

    class Files(Base):
        def get(self, job_id: str, kind: str) -> None:
            job = self.job_or_404(job_id)
            if job is None:
                return
            path = queue.result_path(job) if kind == "color" else queue.gray_path(job)
            if not path.is_file():
                self.set_status(404)
                return self.finish({"error": "Not ready yet."})
            self.set_header("Content-Type", "image/jpeg")
            self.set_header("Cache-Control", "private, max-age=3600")
            if self.get_argument("download", None):
                stem = Path(job.name).stem.replace('"', "") or "photo"
                self.set_header("Content-Disposition", f'attachment; filename="{stem}_color.jpg"')
            self.finish(path.read_bytes())

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
        (r"/files/([A-Za-z0-9_-]{6,20})/(gray|color)\.jpg", Files),
    ], debug=False, xsrf_cookies=False)


def _status(queue: PhotoQueue, job: Job) -> dict:
    ready = job.state == "done"
    return {"id": job.id, "name": job.name, "state": job.state, "position": queue.position(job),
            "temperature": job.temperature, "error": job.error,
            "seconds": None if job.seconds is None else round(job.seconds, 2),
            "gray": f"/files/{job.id}/gray.jpg" if ready else None,
            "color": f"/files/{job.id}/color.jpg" if ready else None}


def _code_page(wrong: bool) -> str:
    hint = "<p class=wrong>That code is not right.</p>" if wrong else ""
    return ("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            "<title>Colourise: access code</title><body style='font-family:sans-serif;max-width:30em;margin:2em auto'>"
            f"<h1>Access code</h1>{hint}<p>Ask your teacher for the code on the projector.</p>"
            "<form method=get action='/'><input name=code autocapitalize=characters autofocus "
            "style='font-size:2em;width:8em'> <button style='font-size:1.5em'>Go</button></form>")


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
          code: str | None = None, ready=None, stop: threading.Event | None = None) -> None:
    """Run the app until interrupted (or ``stop`` is set); ``ready(url, queue)`` is called once it
    listens (``port=0``: any free port). The session's folder is removed at the end."""
    import tornado.httpserver
    import tornado.netutil

    queue = PhotoQueue(net, folder, size)
    join: dict = {}

    async def main() -> None:
        server = tornado.httpserver.HTTPServer(make_app(queue, code, join),
                                               max_body_size=(MAX_UPLOAD_MB + 1) * 1024**2,
                                               max_buffer_size=(MAX_UPLOAD_MB + 1) * 1024**2)
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
