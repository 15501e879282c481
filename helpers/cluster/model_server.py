"""The model for Dask workers that cannot see its files: served by the client over HTTP while a run lasts.

A worker with no copy of the model (no shared folder, no ``COLORIZE_MODEL_DIR``) fetches the
three files (about 130 MB) from the machine that runs the command, with the code that fetches
the model from the internet (``helpers.model.fetch``: streamed into a temporary file, checked by
SHA-256, renamed into place), into its cache folder, once per machine. The files go straight
from the client to each worker that needs them: the scheduler carries only their addresses and
hashes (a few hundred bytes), so a restarted scheduler costs nothing, and a worker that joins
late fetches them the same way. The server listens on the address the client uses to reach the
scheduler, on a free port, and answers only under a random path: nothing else of the machine
is served.

Introduced with ``python -m helpers video --scheduler`` (README, "More than one machine").
"""

from __future__ import annotations

import secrets
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pooch

from ..model.fetch import ModelFile, fetch_file

FETCH_TIMEOUT = 60
"""Seconds a worker waits for the client's server to answer before it gives up."""


class ModelServer:
    """A context manager: serve ``files`` on ``host`` while inside; gives their ``ModelFile`` entries
    (name, size, SHA-256 and this server's URL) for ``fetch_served``."""

    def __init__(self, files: list[Path], host: str) -> None:
        self.files, self.host = [Path(f) for f in files], host
        self._server: _QuietServer | None = None

    def __enter__(self) -> tuple[ModelFile, ...]:
        token = secrets.token_urlsafe(16)
        served = {f"/{token}/{path.name}": path for path in self.files}
        handler = type("Handler", (_FileHandler,), {"served": served})
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("Server", (_QuietServer,), {"address_family": family})
        self._server = server_class((self.host, 0), handler)
        threading.Thread(target=self._server.serve_forever, name="model-server", daemon=True).start()
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        base = f"http://{host}:{self._server.server_address[1]}/{token}"
        return tuple(ModelFile(path.name, path.stat().st_size, "sha256:" + pooch.file_hash(str(path), alg="sha256"),
                               (f"{base}/{path.name}",)) for path in self.files)

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a worker that hung up mid-file tries again: no traceback on the user's terminal


class _FileHandler(BaseHTTPRequestHandler):
    served: dict[str, Path] = {}

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        path = self.served.get(self.path)
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        with open(path, "rb") as file:
            shutil.copyfileobj(file, self.wfile, 1 << 20)

    def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's signature
        pass


def fetch_served(files: tuple[ModelFile, ...], folder: Path) -> Path:
    """On a worker: each of ``files`` into ``folder`` unless already there with its hash; returns ``folder``.

    Raises ``helpers.model.fetch.ModelDownloadError`` (saying why) when a file cannot be fetched.
    """
    for entry in files:
        fetch_file(entry, folder, progressbar=False, timeout=FETCH_TIMEOUT)
    return folder


def own_address(remote: str) -> str:
    """The address of this machine on the way to ``remote`` (``tcp://host:port``, a Dask address):
    where the workers, which reach the same scheduler, can reach this machine."""
    host = remote.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))  # no packet is sent: this only picks the route
        return probe.getsockname()[0]
