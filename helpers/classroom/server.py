"""The classroom app's routes and its guarded web server (``make_app``, ``serve``): the classroom app.

``python -m helpers app`` (or ``make app``) starts a small web server: one process, ONE loaded
network, and a queue in front of it (``photo_queue.PhotoQueue``). The server is Tornado, the web
framework Jupyter itself runs on (already installed with JupyterLab): asynchronous, so the page
stays responsive while the network works in a thread of its own.

Safe by default, for a room of 14-year-olds: the server listens on 127.0.0.1 (this computer only)
unless ``--host`` is given; then every request needs the access code (``access``). The server is
guarded: timeouts, a cap on open connections, uploads read only after the access code. Uploads are
deleted on request and when the server stops (Ctrl+C, kill, a closed terminal).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from pathlib import Path

import tornado.httpserver
import tornado.netutil
import tornado.web

from ..lab.temperature import DEFAULT_TEMPERATURE
from ..model.net import DEFAULT_SIZE
from .handlers import (
    UPLOAD_BODY,
    Again,
    ClassroomState,
    Gallery,
    Mine,
    Page,
    PhotoFiles,
    Photos,
    PhotoStatus,
    QrCode,
    TeacherPage,
    TeacherState,
)
from .joining import join_url
from .photo_queue import PhotoQueue

SMALL_BODY = 64 * 1024
"""Largest body of any other request (a temperature, as JSON)."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest request headers (a phone's are under 2 kB)."""
MAX_CONNECTIONS = 4000
"""Open connections at most (a class of phones opens a few each; anyone on the Wi-Fi can open
thousands of slow ones): beyond it, the oldest connection is closed for each new one, so that a
flood never uses up the laptop's open files and a normal request still gets through. Lowered to
what the system allows (``serve`` raises its limit on open files as far as it may)."""
FILES_KEPT_FREE, FEWEST_CONNECTIONS = 256, 16
"""Open files left for everything else (the network's files, uploads, results) and the fewest
connections allowed however low the system's limit."""
HEADER_SECONDS, BODY_SECONDS = 10, 120
"""A request's headers must arrive within this many seconds (also how long an idle connection is
kept), its body (an upload of up to 20 MB over a slow Wi-Fi) within that many."""
FLOOD_WARNING_SECONDS = 60
"""At most one line a minute in the terminal while connections are being closed."""
JOB_ID = r"([A-Za-z0-9_-]{6,20})"
"""A job's id in a route (``secrets.token_urlsafe``'s letters): nothing else, never a path."""


def make_app(queue: PhotoQueue, code: str | None = None, join: dict | None = None, teacher: str | None = None,
             notice: str | None = None) -> tornado.web.Application:
    """The Tornado application: pages, JSON API and result files, behind the access code if given.
    ``join["url"]``: the address students open (for the projector's QR code; filled in later is
    fine). ``teacher``: the key of the teacher's page (``/teacher?key=...``: remove or hide any
    photo, pause, clear). ``notice``: a line every page shows (that the model is a stand-in whose
    colours are noise)."""
    state = {"state": ClassroomState(queue, code=code, teacher=teacher, notice=notice,
                                     join=join if join is not None else {})}
    return tornado.web.Application([
        (r"/", Page, state),
        (r"/qr\.svg", QrCode, state),
        (r"/api/photos", Photos, state),
        (rf"/api/photos/{JOB_ID}", PhotoStatus, state),
        (rf"/api/photos/{JOB_ID}/again", Again, state),
        (r"/api/gallery", Gallery, state),
        (r"/api/mine", Mine, state),
        (r"/teacher", TeacherPage, state),
        (r"/api/teacher", TeacherState, state),
        (rf"/files/{JOB_ID}/(gray|color|thumb)\.jpg", PhotoFiles, state),
    ], debug=False, xsrf_cookies=False, log_function=log_request)


def log_request(handler: tornado.web.RequestHandler) -> None:
    """One line for a request that failed on the server's side; none for the rest (a wrong code, a
    refused upload: the student's page says it), so a class or a guesser cannot flood the terminal."""
    if handler.get_status() >= 500:
        logging.getLogger("tornado.access").error("%d %s %s", handler.get_status(), handler.request.method,
                                                  handler.request.path)


class GuardedServer(tornado.httpserver.HTTPServer):
    """Tornado's server with a cap on open connections (``max_connections``): the oldest goes for a
    new one (a flood's slow connections are the old ones), and one log line a minute while it happens."""

    def initialize(self, *args, max_connections: int = MAX_CONNECTIONS, **kwargs) -> None:
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self.streams: deque = deque()
        self.closed_count, self.warned_at = 0, 0.0

    def handle_stream(self, stream, address) -> None:
        limit = self.max_connections
        self.streams.append(stream)
        while len(self.streams) > limit:
            oldest = self.streams.popleft()
            if not oldest.closed():
                oldest.close()
                self.closed_count += 1
        if self.closed_count and time.monotonic() - self.warned_at > FLOOD_WARNING_SECONDS:
            self.warned_at = time.monotonic()
            print(f"Classroom app: more than {limit} connections open; the oldest are closed ({self.closed_count} "
                  "so far). Someone on the network may be flooding the app.", flush=True)
        if len(self.streams) > 2 * limit or (self.streams and self.streams[0].closed()):
            self.streams = deque(s for s in self.streams if not s.closed())  # forget the closed ones
        super().handle_stream(stream, address)


def open_files_limit(wanted: int) -> int:
    """Connections this process may keep open: ``wanted``, or less where the system allows fewer
    open files (raised to the most this user may have, which needs no privileges)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + FILES_KEPT_FREE if hard == resource.RLIM_INFINITY else min(hard, wanted + FILES_KEPT_FREE)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(FEWEST_CONNECTIONS, min(wanted, soft - FILES_KEPT_FREE))


def serve(net, *, host: str = "127.0.0.1", port: int = 8000, folder: Path, size: int = DEFAULT_SIZE,
          code: str | None = None, teacher: str | None = None, notice: str | None = None, ready=None,
          stop: threading.Event | None = None, temperature: float = DEFAULT_TEMPERATURE) -> None:
    """Run the app until interrupted (or ``stop`` is set); ``ready(url, queue)`` is called once it
    listens (``port=0``: any free port). ``net``: from ``load_model`` (any back end); ``folder``:
    this session's folder (``uploads.session_folder``), removed at the end; ``size``: the network's
    input size. ``code``: the access code (None: none); ``teacher``: the key of the teacher's page;
    ``notice``: a line every page shows; ``temperature``: of the photos sent without one."""
    queue = PhotoQueue(net, folder, size, temperature)
    join: dict = {}
    limit = open_files_limit(MAX_CONNECTIONS)

    async def main() -> None:
        server = GuardedServer(make_app(queue, code, join, teacher, notice), max_connections=limit,
                               max_body_size=SMALL_BODY, max_buffer_size=UPLOAD_BODY,
                               max_header_size=MAX_HEADER_BYTES, idle_connection_timeout=HEADER_SECONDS,
                               body_timeout=BODY_SECONDS)
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
