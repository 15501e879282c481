"""The web side's request handlers (pages, JSON API, result files), sharing one ``ClassroomState``: the classroom app.

Each handler is given the state through its route (``(r"/", Page, {"state": state})``, then
Tornado calls ``initialize(state=state)``). Every request passes the access code first (if there
is one; ``ClassroomHandler.prepare``), the teacher's requests the teacher's key instead. Nothing of
the server's file system is reachable: files are looked up by their job's random id, never by a
path from the request. The page loads nothing from other hosts and sends nothing anywhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import tornado.httputil
import tornado.web

from .access import (
    COOKIE_DAYS,
    OWNER_COOKIE,
    SESSION_COOKIE,
    TEACHER_COOKIE,
    WrongCodes,
    code_page,
    new_secret,
    same_secret,
)
from .joining import qr_svg
from .photo_queue import Job, PhotoQueue
from .uploads import MAX_UPLOAD_MB, UploadError, too_large

PAGE = Path(__file__).with_name("page.html")
"""The class's page (phones and the projector): plain HTML and JavaScript, nothing from other hosts."""
TEACHER_PAGE = Path(__file__).with_name("teacher.html")
"""The teacher's page: every photo, to hide or remove; pause; clear."""
RECEIVING = 4
"""Uploads read at once (each up to ``MAX_UPLOAD_MB`` in memory); more wait, unread."""
UPLOAD_BODY = (MAX_UPLOAD_MB + 1) * 1024**2
"""Largest body of an upload: the photo and the form around it."""
SECURITY_HEADERS = {
    # the page and its script come from here and nowhere else; no referrer leaks
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class ClassroomState:
    """What every handler of one app shares: the queue, the secrets and who has given them."""

    queue: PhotoQueue
    code: str | None = None
    """The access code; None: none needed (the app listens on this computer only)."""
    teacher: str | None = None
    """The key of the teacher's page (``/teacher?key=...``); None: no teacher's page."""
    notice: str | None = None
    """A line every page shows (that the model is a stand-in whose colours are noise)."""
    join: dict = field(default_factory=dict)
    """``join["url"]``: the address students open (for the projector's QR code), once ``serve`` listens."""
    sessions: set[str] = field(default_factory=set)
    """Tokens of phones that gave the access code."""
    teachers: set[str] = field(default_factory=set)
    """Tokens of browsers that opened the teacher's page with its key."""
    wrong: WrongCodes = field(default_factory=WrongCodes)
    receiving: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(RECEIVING))
    """Uploads being read now (``RECEIVING`` at most)."""


def job_status(queue: PhotoQueue, job: Job, *, mine: bool = False) -> dict:
    """A job as the page sees it (JSON); the gray "before" (the photo itself) only for its owner (``mine``)."""
    ready, position = job.state == "done", queue.position(job)
    return {"id": job.id, "name": job.name, "state": job.state, "position": position,
            "wait": None if not position or queue.pace is None else round(position * queue.pace, 1),
            "temperature": job.temperature, "error": job.error,
            "seconds": None if job.seconds is None else round(job.seconds, 2),
            "gray": f"/files/{job.id}/gray.jpg" if ready and mine else None,
            "color": f"/files/{job.id}/color.jpg" if ready else None,
            "thumb": f"/files/{job.id}/thumb.jpg" if ready else None}


def attachment(name: str) -> str:
    """A Content-Disposition header for a download named ``name``, any script (RFC 6266 and 5987):
    an ASCII fallback for old browsers, and the name itself in UTF-8."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class ClassroomHandler(tornado.web.RequestHandler):
    """What every request of the app shares: the access code, the security headers, cookies, errors."""

    def initialize(self, state: ClassroomState) -> None:
        self.state, self.queue = state, state.queue

    def set_default_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)

    def is_teacher(self) -> bool:
        return self.get_cookie(TEACHER_COOKIE) in self.state.teachers

    async def prepare(self) -> None:
        code = self.state.code
        if code is None or self.is_teacher():
            return
        session = self.get_cookie(SESSION_COOKIE)
        if session is not None and session in self.state.sessions:
            return
        given = self.get_argument("code", None) or self.request.headers.get("X-Access-Code")
        if given is not None:
            pause = self.state.wrong.pause(self.request.remote_ip)
            if pause:
                await asyncio.sleep(pause)  # this address guessed wrong too often
            if same_secret(given.strip().upper(), code):
                self.state.wrong.forget(self.request.remote_ip)
                self.open_session(SESSION_COOKIE, self.state.sessions)
                if self.request.method == "GET" and self.get_argument("code", None) and \
                        not self.request.path.startswith("/api/"):
                    self.redirect(self.request.path)  # the code leaves the address bar and the history
                return
            self.state.wrong.count(self.request.remote_ip)
        self.set_status(403)
        if self.request.path.startswith("/api/"):
            self.finish({"error": "Wrong or missing access code: ask your teacher for it."})
        else:
            self.finish(code_page(given is not None))

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
        if not isinstance(value, tornado.web.HTTPError):
            logging.getLogger("tornado.application").error("%s %s failed: %s: %s", self.request.method,
                                                           self.request.path, typ.__name__, value)

    def fail(self, exc: UploadError) -> None:
        self.set_status(exc.status)
        self.finish({"error": str(exc)})

    def job_or_404(self, job_id: str) -> Job | None:
        job = self.queue.jobs.get(job_id)
        if job is None:
            self.set_status(404)
            self.finish({"error": "No such photo (it may have been removed)."})
        return job


class Page(ClassroomHandler):
    """``/``: the class's page."""

    def get(self) -> None:
        self.html(PAGE)


@tornado.web.stream_request_body
class Photos(ClassroomHandler):
    """``POST /api/photos``, an upload: read only after the access code is checked, and at most
    ``RECEIVING`` at once."""

    body: bytearray | None = None

    async def prepare(self) -> None:
        await super().prepare()  # the access code: before a single byte of the body is read
        if self._finished:
            return
        try:
            length = int(self.request.headers.get("Content-Length", "0"))
        except ValueError:
            length = 0
        if length > UPLOAD_BODY:  # said before it is sent: a message, not a cut connection
            self.fail(too_large(length))
            return
        self.request.connection.set_max_body_size(UPLOAD_BODY)
        await self.state.receiving.acquire()  # the others wait, unread (their phones simply send more slowly)
        self.body = bytearray()

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk

    def on_finish(self) -> None:
        if self.body is not None:
            self.body = None
            self.state.receiving.release()

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
        upload, queue = files[0], self.queue
        try:
            given = arguments.get("temperature", [str(queue.temperature).encode()])[0]
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
        self.finish({**job_status(queue, job, mine=True), "owner": job.owner})


class PhotoStatus(ClassroomHandler):
    """``/api/photos/<id>``: a photo's state (GET), or its removal by its owner (DELETE)."""

    def get(self, job_id: str) -> None:
        job = self.job_or_404(job_id)
        if job is not None:
            self.finish(job_status(self.queue, job, mine=self.queue.owns(job, self.owner())))

    def delete(self, job_id: str) -> None:
        if not self.queue.remove(job_id, self.owner() or ""):
            self.set_status(404)
            return self.finish({"error": "Only the phone that sent this photo can remove it."})
        self.finish({"removed": job_id})


class Again(ClassroomHandler):
    """``POST /api/photos/<id>/again``: the owner's photo at another temperature (JSON ``{"temperature": t}``)."""

    def post(self, job_id: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            job = self.queue.again(job_id, float(body.get("temperature", 0)), self.owner() or "")
        except UploadError as exc:
            return self.fail(exc)
        except (ValueError, TypeError) as exc:
            return self.fail(UploadError(str(exc)))
        self.set_status(202)
        self.finish(job_status(self.queue, job, mine=True))


class Gallery(ClassroomHandler):
    """``/api/gallery``: the class's results, newest first; not the gray "before" (its owner's), not
    what the teacher hid."""

    def get(self) -> None:
        queue, state = self.queue, self.state
        done = [job_status(queue, j) for j in list(queue.jobs.values())
                if j.state == "done" and j.source not in queue.hidden]
        self.finish({"photos": done[::-1], "waiting": queue.waiting_count(), "paused": queue.paused,
                     "notice": state.notice,
                     "join": {"url": (state.join.get("url") or "").split("?")[0], "code": state.code}})


class Mine(ClassroomHandler):
    """``/api/mine``: this phone's photos, oldest first: the page shows them again after a reload."""

    def get(self) -> None:
        owner = self.owner()
        self.finish({"photos": [job_status(self.queue, j, mine=True) for j in list(self.queue.jobs.values())
                                if self.queue.owns(j, owner)]})


class TeacherHandler(ClassroomHandler):
    """The teacher's requests: the teacher's key (once, then a cookie) instead of the access code."""

    async def prepare(self) -> None:
        key, teacher = self.get_argument("key", None), self.state.teacher
        if teacher is not None and key is not None and same_secret(key, teacher):
            self.open_session(TEACHER_COOKIE, self.state.teachers)
            if self.request.path == "/teacher":
                self.redirect("/teacher")  # the key leaves the address bar
        elif not self.is_teacher():
            self.set_status(404)  # no hint that a teacher's page exists
            self.finish({"error": "Not found."})


class TeacherPage(TeacherHandler):
    """``/teacher``: the teacher's page."""

    def get(self) -> None:
        self.html(TEACHER_PAGE)


class TeacherState(TeacherHandler):
    """``/api/teacher``: every photo with its phone's number (GET); pause, clear, remove, hide or show (POST)."""

    def get(self) -> None:
        queue = self.queue
        phones: dict[str, int] = {}  # owners by number, in the order they first sent: no secrets shown
        jobs = list(queue.jobs.values())
        for job in jobs:
            phones.setdefault(job.owner, len(phones) + 1)
        self.finish({"paused": queue.paused, "waiting": queue.waiting_count(), "photos": [
            {**job_status(queue, j), "phone": phones[j.owner], "hidden": j.source in queue.hidden}
            for j in reversed(jobs)]})

    def post(self) -> None:
        queue = self.queue
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


class PhotoFiles(ClassroomHandler):
    """``/files/<id>/(gray|color|thumb).jpg``: a result (anyone), or the gray "before" (its owner only)."""

    def get(self, job_id: str, kind: str) -> None:
        job = self.job_or_404(job_id)
        if job is None:
            return
        queue = self.queue
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
            self.set_header("Content-Disposition", attachment(f"{Path(job.name).stem or 'photo'}_color.jpg"))
        self.finish(data)


class QrCode(ClassroomHandler):
    """``/qr.svg``: the join address with the access code, as a QR code for the projector."""

    def get(self) -> None:
        url = self.state.join.get("url")
        if not url:
            self.set_status(404)
            return self.finish({"error": "No address yet."})
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "no-store")
        self.finish(qr_svg(url))
