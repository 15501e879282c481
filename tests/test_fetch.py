"""The model downloader (helpers/model/fetch.py) against a real HTTP server on 127.0.0.1.

Each test builds a few KB of fake "model files", serves them (or broken copies of them) from
a stdlib ``http.server`` in a background thread, and checks what lands on disk, which URLs
were requested in which order, and what the error message says. Only loopback addresses are
used; nothing is written into the real ``model/`` folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import helpers.cli as cli
import helpers.model.fetch as fetch
import helpers.model.model_files
from helpers.model.fetch import MIRROR_ENV, ModelDownloadError, ModelFile, fetch_file, fetch_model, is_valid

REPO_MODEL_DIR = Path(__file__).resolve().parents[1] / "model"
TIMEOUT = 0.5
"""Seconds before a silent server counts as failed, in the tests that use the stalling endpoint."""
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in to continue</body></html>\n"
FAKE_NAMES: set[str] = set()
"""Names of the fake model files: none of them may ever appear in the real model/ folder."""
SENTINEL = "notes.txt"
"""A file already in every destination folder: failures must leave the folder as it was."""


# --------------------------------------------------------------------------- the server


class _Server(ThreadingHTTPServer):
    """Serves fixed answers per path and records every request path in order."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[str, bytes | int]] = {}
        self.hits: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def _route(self, path: str, kind: str, payload: bytes | int = b"") -> str:
        self.routes[path] = (kind, payload)
        return self.url(path)

    def ok(self, path: str, data: bytes) -> str:
        """200 with ``data``."""
        return self._route(path, "ok", data)

    def status(self, path: str, code: int = 404) -> str:
        """An HTTP error status."""
        return self._route(path, "status", code)

    def html(self, path: str, page: bytes = HTML_PAGE) -> str:
        """200 with an HTML login page, as dead file hosts answer."""
        return self._route(path, "html", page)

    def truncated(self, path: str, data: bytes) -> str:
        """Promises ``len(data)`` bytes, sends half, closes the connection."""
        return self._route(path, "truncated", data)

    def stall(self, path: str) -> str:
        """Accepts the request and says nothing until the test ends."""
        return self._route(path, "stall")

    def record(self, path: str) -> None:
        with self._lock:
            self.hits.append(path)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.server.record(self.path)
        kind, payload = self.server.routes.get(self.path, ("status", 404))
        if kind == "status":
            self.send_error(payload)
            return
        if kind == "stall":
            self.server.stop.wait(10)
            return
        body = payload[: len(payload) // 2] if kind == "truncated" else payload
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8" if kind == "html" else "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Silence the access log."""


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 (port 0) in a background thread."""
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


# --------------------------------------------------------------------------- helpers and fixtures


def fake_bytes(size: int = 4096, seed: int = 0) -> bytes:
    """Random bytes standing in for a model file (binary: no HTML-looking start)."""
    return random.Random(seed).randbytes(size)


def damaged(data: bytes) -> bytes:
    """Same size, different content: passes the size check, fails the hash check."""
    return bytes(b ^ 0xFF for b in data)


def entry_for(name: str, data: bytes, urls=(), alg: str = "sha256") -> ModelFile:
    """The registry entry of ``data`` (every fake name is remembered for the model/ guard)."""
    FAKE_NAMES.add(name)
    return ModelFile(name=name, size=len(data), hash=f"{alg}:{hashlib.new(alg, data).hexdigest()}", urls=tuple(urls))


def listing(folder: Path) -> list[str]:
    """Every name in ``folder`` (dot files included), or [] if it does not exist."""
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def closed_port_url(path: str = "/refused") -> str:
    """A loopback URL on a port nobody listens on: the connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def failures(message: str) -> list[tuple[str, str]]:
    """The ``(source, reason)`` pairs listed in a ModelDownloadError message."""
    return re.findall(r"^  - (\S+)\n      (.+)$", message, flags=re.M)


def get(entry: ModelFile, dest: Path, **kwargs) -> Path:
    kwargs.setdefault("timeout", 5)
    return fetch_file(entry, dest, progressbar=False, **kwargs)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No mirror or model folder from the environment, no proxy, and the real model/ untouched."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.delenv(fetch.MODEL_DIR_ENV, raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    before = set(listing(REPO_MODEL_DIR))
    yield
    # Others may work in model/ meanwhile: only our names and temporaries count as ours.
    new = set(listing(REPO_MODEL_DIR)) - before
    ours = {n for n in new if n in FAKE_NAMES or n.startswith("tmp") or n.endswith(".part")}
    assert not ours, f"a test wrote into the real model/ folder: {sorted(ours)}"


@pytest.fixture
def dest(tmp_path) -> Path:
    """A destination folder that already holds one unrelated file."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / SENTINEL).write_text("mine\n")
    return folder


# --------------------------------------------------------------------------- 1-5: one file, several sources


@pytest.mark.parametrize("alg", ["sha256", "sha1"])
def test_good_file_is_downloaded_and_verified(server, dest, alg):
    """A good URL gives the exact bytes at dest/name, and the returned path is that file."""
    data = fake_bytes(5000)
    entry = entry_for("weights.caffemodel", data, [server.ok("/w", data)], alg=alg)
    path = get(entry, dest)
    assert path == dest / "weights.caffemodel"
    assert path.read_bytes() == data
    assert is_valid(path, entry)
    assert server.hits == ["/w"]
    assert listing(dest) == [SENTINEL, "weights.caffemodel"]


def test_missing_destination_folder_is_created(server, tmp_path):
    """fetch_file creates dest_dir (and its parents) when it does not exist."""
    data = fake_bytes()
    entry = entry_for("pts.npy", data, [server.ok("/p", data)])
    path = get(entry, tmp_path / "a" / "b")
    assert path.read_bytes() == data


def test_404_then_good_second_url(server, dest):
    """A 404 on the first URL moves on to the second; both are tried, in order."""
    data = fake_bytes()
    entry = entry_for("w.bin", data, [server.status("/gone", 404), server.ok("/good", data)])
    assert get(entry, dest).read_bytes() == data
    assert server.hits == ["/gone", "/good"]
    assert listing(dest) == [SENTINEL, "w.bin"]


@pytest.mark.parametrize(
    "kind",
    ["html", "truncated", "wrong_hash", "server_error"],
)
def test_broken_first_source_falls_back_to_next_mirror(server, dest, kind):
    """An HTML page, a truncated file, wrong bytes or a 500 is rejected and the next mirror used."""
    data = fake_bytes(6000)
    broken = {
        "html": lambda: server.html("/bad"),
        "truncated": lambda: server.truncated("/bad", data),
        "wrong_hash": lambda: server.ok("/bad", damaged(data)),
        "server_error": lambda: server.status("/bad", 500),
    }[kind]()
    entry = entry_for("w.bin", data, [broken, server.ok("/good", data)])
    path = get(entry, dest)
    assert path.read_bytes() == data
    assert server.hits == ["/bad", "/good"]
    assert listing(dest) == [SENTINEL, "w.bin"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("html", r"ValueError: the server sent an HTML page instead of the model file"),
        ("truncated", r"IncompleteRead|Connection broken|ChunkedEncodingError"),
        ("wrong_hash", r"ValueError: .*does not match the known hash"),
        ("not_found", r"HTTPError: 404"),
    ],
)
def test_broken_only_source_raises_and_leaves_nothing(server, dest, kind, reason):
    """With one broken source: ModelDownloadError naming why, no file and no temporary left."""
    data = fake_bytes(6000)
    url = {
        "html": lambda: server.html("/bad"),
        "truncated": lambda: server.truncated("/bad", data),
        "wrong_hash": lambda: server.ok("/bad", damaged(data)),
        "not_found": lambda: server.status("/bad", 404),
    }[kind]()
    entry = entry_for("w.bin", data, [url])
    with pytest.raises(ModelDownloadError) as info:
        get(entry, dest)
    [(source, why)] = failures(str(info.value))
    assert source == url
    assert re.search(reason, why), why
    assert server.hits == ["/bad"]
    assert listing(dest) == [SENTINEL]


def test_stalling_server_times_out_and_next_mirror_is_used(server, dest):
    """A server that never answers counts as failed after ``timeout`` seconds, then the next URL is used."""
    data = fake_bytes()
    entry = entry_for("w.bin", data, [server.stall("/slow"), server.ok("/good", data)])
    start = time.monotonic()
    path = get(entry, dest, timeout=TIMEOUT)
    assert time.monotonic() - start < 5
    assert path.read_bytes() == data
    assert server.hits == ["/slow", "/good"]
    assert listing(dest) == [SENTINEL, "w.bin"]


# --------------------------------------------------------------------------- 6: every source dead


def test_every_source_dead_error_names_file_urls_reasons_and_the_way_out(server, dest):
    """All dead: the message names the file, each URL in order with its reason, the destination and the env var."""
    data = fake_bytes(3000)
    urls = [server.status("/gone"), server.html("/login"), closed_port_url(), server.stall("/slow")]
    entry = entry_for("fake_release_v2.caffemodel", data, urls)
    start = time.monotonic()
    with pytest.raises(ModelDownloadError) as info:
        get(entry, dest, timeout=TIMEOUT)
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "fake_release_v2.caffemodel" in message.splitlines()[0]
    listed = failures(message)
    assert [source for source, _ in listed] == urls
    reasons = [why for _, why in listed]
    assert re.search(r"HTTPError: 404", reasons[0]), reasons[0]
    assert "HTML page" in reasons[1], reasons[1]
    assert re.search(r"ConnectionError", reasons[2]), reasons[2]
    assert re.search(r"refused", reasons[2], flags=re.I), f"the reason lost its cause: {reasons[2]}"
    assert re.search(r"Timeout|timed out", reasons[3]), reasons[3]
    assert str(dest / entry.name) in message
    assert entry.hash in message
    assert MIRROR_ENV in message
    assert server.hits == ["/gone", "/login", "/slow"]
    assert listing(dest) == [SENTINEL]


def test_refused_connection_reason_survives_a_real_length_url(dest):
    """The reason keeps its cause ("Connection refused") for a URL as long as the registry's real ones."""
    path = "/EnoxSoftware/OpenCVForUnityExampleAssets/releases/download/dnn%2FColorizationExample/w.caffemodel"
    url = closed_port_url(path)
    with pytest.raises(ModelDownloadError) as info:
        get(entry_for("w.caffemodel", fake_bytes(), [url]), dest)
    [(source, why)] = failures(str(info.value))
    assert source == url
    assert re.search(r"refused", why, flags=re.I), f"the cause was cut off: {why}"
    assert listing(dest) == [SENTINEL]


# --------------------------------------------------------------------------- 7: local and URL mirrors


def test_mirror_folder_is_copied_verified_without_any_request(server, dest, tmp_path):
    """A mirror folder holding the right file is used first: copied (not moved), no HTTP request."""
    data = fake_bytes()
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "w.bin").write_bytes(data)
    entry = entry_for("w.bin", data, [server.ok("/good", data)])
    path = get(entry, dest, mirror=mirror)
    assert path == dest / "w.bin"
    assert path.read_bytes() == data
    assert (mirror / "w.bin").read_bytes() == data
    assert server.hits == []
    assert listing(dest) == [SENTINEL, "w.bin"]


@pytest.mark.parametrize("content", ["wrong_hash", "html", "missing"])
def test_mirror_folder_without_a_good_copy_is_skipped(server, dest, tmp_path, content):
    """A mirror folder with a wrong file, an HTML page or no file falls back to the public URL."""
    data = fake_bytes()
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    if content == "wrong_hash":
        (mirror / "w.bin").write_bytes(damaged(data))
    elif content == "html":
        (mirror / "w.bin").write_bytes(HTML_PAGE)
    mirrored = listing(mirror)
    entry = entry_for("w.bin", data, [server.ok("/good", data)])
    assert get(entry, dest, mirror=str(mirror)).read_bytes() == data
    assert server.hits == ["/good"]
    assert listing(mirror) == mirrored
    assert listing(dest) == [SENTINEL, "w.bin"]


def test_mirror_folder_failure_reasons_are_reported(dest, tmp_path):
    """A mirror folder alone: a wrong file fails with a size/hash reason, an HTML page as an HTML page."""
    data = fake_bytes()
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "a.bin").write_bytes(damaged(data))
    (mirror / "b.bin").write_bytes(HTML_PAGE)
    for name, reason in [("a.bin", "wrong size or hash"), ("b.bin", "HTML page"), ("c.bin", "FileNotFoundError")]:
        with pytest.raises(ModelDownloadError) as info:
            get(entry_for(name, data), dest, mirror=mirror)
        [(source, why)] = failures(str(info.value))
        assert source == str(mirror / name)
        assert reason in why
    assert listing(dest) == [SENTINEL]


@pytest.mark.parametrize("trailing_slash", [False, True])
def test_url_base_mirror_is_tried_first(server, dest, trailing_slash):
    """A URL-base mirror is asked for base/name before the public URLs."""
    data = fake_bytes()
    server.ok("/base/w.bin", data)
    entry = entry_for("w.bin", data, [server.ok("/public/w.bin", data)])
    base = server.url("/base") + ("/" if trailing_slash else "")
    assert get(entry, dest, mirror=base).read_bytes() == data
    assert server.hits == ["/base/w.bin"]


def test_dead_url_base_mirror_falls_back_to_public_url(server, dest):
    """A URL-base mirror without the file (404) is tried first, then the public URL."""
    data = fake_bytes()
    entry = entry_for("w.bin", data, [server.ok("/public/w.bin", data)])
    assert get(entry, dest, mirror=server.url("/base")).read_bytes() == data
    assert server.hits == ["/base/w.bin", "/public/w.bin"]


# --------------------------------------------------------------------------- 8: what is already there


@pytest.mark.parametrize("with_mirror", [False, True])
def test_existing_good_file_is_not_downloaded_again(server, dest, tmp_path, with_mirror):
    """A file already present with the right hash is kept as it is: zero requests, not even a mirror copy."""
    data = fake_bytes()
    (dest / "w.bin").write_bytes(data)
    before = (dest / "w.bin").stat()
    mirror = None
    if with_mirror:
        mirror = tmp_path / "classroom"
        mirror.mkdir()
        (mirror / "w.bin").write_bytes(data)
    entry = entry_for("w.bin", data, [server.ok("/good", data)])
    assert get(entry, dest, mirror=mirror) == dest / "w.bin"
    after = (dest / "w.bin").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert server.hits == []


@pytest.mark.parametrize("bad", ["wrong_hash", "html", "truncated"])
def test_existing_damaged_file_is_replaced_by_a_good_download(server, dest, bad):
    """A damaged file at the destination (wrong bytes, a saved login page, half a file) is replaced."""
    data = fake_bytes()
    content = {"wrong_hash": damaged(data), "html": HTML_PAGE, "truncated": data[:1000]}[bad]
    (dest / "w.bin").write_bytes(content)
    entry = entry_for("w.bin", data, [server.ok("/good", data)])
    assert get(entry, dest).read_bytes() == data
    assert server.hits == ["/good"]
    assert listing(dest) == [SENTINEL, "w.bin"]


def test_existing_damaged_file_is_replaced_from_a_mirror_folder(dest, tmp_path):
    """The local mirror copy also replaces a damaged destination file."""
    data = fake_bytes()
    (dest / "w.bin").write_bytes(damaged(data))
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "w.bin").write_bytes(data)
    assert get(entry_for("w.bin", data), dest, mirror=mirror).read_bytes() == data
    assert listing(dest) == [SENTINEL, "w.bin"]


def test_existing_damaged_file_is_left_untouched_when_every_source_fails(server, dest, tmp_path):
    """All sources fail: the damaged file is neither deleted nor half-overwritten, and no temporary remains.

    Keeping it is right: fetch_file never deletes what it did not write, and the hash check
    of the next run still refuses it.
    """
    data = fake_bytes(6000)
    old = damaged(data)
    (dest / "w.bin").write_bytes(old)
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "w.bin").write_bytes(data[:10] + old[10:])
    entry = entry_for("w.bin", data, [server.truncated("/half", data), server.ok("/bad", old[:-1] + b"x")])
    with pytest.raises(ModelDownloadError):
        get(entry, dest, mirror=mirror)
    assert (dest / "w.bin").read_bytes() == old
    assert server.hits == ["/half", "/bad"]
    assert listing(dest) == [SENTINEL, "w.bin"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("source", ["http", "mirror_folder"])
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_fetched_file_gets_ordinary_permissions(server, dest, tmp_path, source, umask, mode):
    """A fetched file gets the mode any new file gets (0o666 & ~umask), not a temporary's private 0600.

    A classroom copy is made by running fetch and sharing model/ as COLORIZE_MODEL_MIRROR:
    files left at mode 0600 cannot be read by anyone else.
    """
    data = fake_bytes()
    mirror = None
    if source == "mirror_folder":
        mirror = tmp_path / "classroom"
        mirror.mkdir()
        (mirror / "w.bin").write_bytes(data)
    entry = entry_for("w.bin", data, [server.ok("/good", data)])
    old = os.umask(umask)
    try:
        path = get(entry, dest, mirror=mirror)
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(mode)


# --------------------------------------------------------------------------- 9: fetch_model and the CLI


def write_registry(path: Path, files: dict[str, tuple[bytes, list[str]]], variants: dict[str, list[str]]) -> Path:
    """A registry.json like model/registry.json, for fake files with loopback URLs."""
    data = {
        "_comment": "test registry",
        "files": {
            name: {"size": len(content), "hash": entry_for(name, content).hash, "urls": urls}
            for name, (content, urls) in files.items()
        },
        "variants": variants,
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def fake_model(server, tmp_path, monkeypatch):
    """A temporary registry (REGISTRY_FILE patched) of three fake files per variant, served by ``server``."""
    content = {
        "deploy.prototxt": b"name: 'fake'\n" + fake_bytes(2000, seed=1),
        "pts.npy": b"\x93NUMPY" + fake_bytes(1000, seed=2),
        "rebal.caffemodel": fake_bytes(8000, seed=3),
        "norebal.caffemodel": fake_bytes(8000, seed=4),
    }
    good = {name: server.ok(f"/b/{name}", data) for name, data in content.items()}
    urls = {
        "deploy.prototxt": [server.status("/a/deploy.prototxt"), good["deploy.prototxt"]],
        "pts.npy": [good["pts.npy"]],
        "rebal.caffemodel": [server.html("/a/rebal.caffemodel"), good["rebal.caffemodel"]],
        "norebal.caffemodel": [good["norebal.caffemodel"]],
    }
    variants = {
        "v2": ["deploy.prototxt", "pts.npy", "rebal.caffemodel"],
        "v2_norebal": ["deploy.prototxt", "pts.npy", "norebal.caffemodel"],
    }
    registry = write_registry(
        tmp_path / "registry.json", {name: (content[name], urls[name]) for name in content}, variants
    )
    monkeypatch.setattr(fetch, "REGISTRY_FILE", registry)
    return content, variants


def test_fetch_model_end_to_end(server, fake_model, dest):
    """fetch_model gets a variant's files in registry order, skips verified ones, and adds only what is new."""
    content, variants = fake_model
    paths = fetch_model("v2", dest_dir=dest, progressbar=False, timeout=5)
    assert list(paths) == variants["v2"]
    for name, path in paths.items():
        assert path == dest / name
        assert path.read_bytes() == content[name]
    assert server.hits == ["/a/deploy.prototxt", "/b/deploy.prototxt", "/b/pts.npy",
                           "/a/rebal.caffemodel", "/b/rebal.caffemodel"]

    server.hits.clear()
    assert fetch_model("v2", dest_dir=dest, progressbar=False, timeout=5) == paths
    assert server.hits == []

    paths = fetch_model("v2_norebal", dest_dir=dest, progressbar=False, timeout=5)
    assert paths["norebal.caffemodel"].read_bytes() == content["norebal.caffemodel"]
    assert server.hits == ["/b/norebal.caffemodel"]
    assert listing(dest) == sorted([SENTINEL, *content])


def test_fetch_model_unknown_variant(fake_model, dest):
    """An unknown variant is a ValueError naming the known ones, before anything is written."""
    with pytest.raises(ValueError, match=r"'v3'.*v2, v2_norebal"):
        fetch_model("v3", dest_dir=dest, progressbar=False)
    assert listing(dest) == [SENTINEL]


def test_fetch_model_uses_mirror_environment_variable(server, fake_model, dest, tmp_path, monkeypatch):
    """COLORIZE_MODEL_MIRROR (a folder) is used by fetch_model: every file copied, no HTTP request."""
    content, variants = fake_model
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    for name in variants["v2"]:
        (mirror / name).write_bytes(content[name])
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    paths = fetch_model("v2", dest_dir=dest, progressbar=False, timeout=5)
    assert {name: p.read_bytes() for name, p in paths.items()} == {name: content[name] for name in variants["v2"]}
    assert server.hits == []


def test_fetch_model_uses_url_mirror_environment_variable(server, fake_model, dest, monkeypatch):
    """COLORIZE_MODEL_MIRROR as a URL base is asked first for every file."""
    content, variants = fake_model
    for name in variants["v2"]:
        server.ok(f"/class/{name}", content[name])
    monkeypatch.setenv(MIRROR_ENV, server.url("/class"))
    fetch_model("v2", dest_dir=dest, progressbar=False, timeout=5)
    assert server.hits == [f"/class/{name}" for name in variants["v2"]]


def test_cli_fetch_with_mirror_folder(server, fake_model, dest, tmp_path, monkeypatch, capsys):
    """``python -m helpers fetch --mirror DIR`` copies the variant from DIR and reports where it is."""
    content, variants = fake_model
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    for name in variants["v2_norebal"]:
        (mirror / name).write_bytes(content[name])
    monkeypatch.setattr(fetch, "MODEL_DIR", dest)
    monkeypatch.setattr(helpers.model.model_files, "MODEL_DIR", dest)
    monkeypatch.setattr(cli.fetch, "opencv_reads_caffe", lambda: True)  # the fake files are no network to write as ONNX
    assert cli.main(["fetch", "--variant", "v2_norebal", "--mirror", str(mirror)]) == 0
    out = capsys.readouterr().out
    assert f"Model v2_norebal ready in {dest}" in out
    for name in variants["v2_norebal"]:
        assert name in out
        assert (dest / name).read_bytes() == content[name]
    assert server.hits == []


def test_cli_fetch_all_sources_dead_exits_1(tmp_path, monkeypatch, capsys):
    """CLI, every source dead: exit status 1, stderr names the real model/ destination, nothing written."""
    data = fake_bytes()
    names = ["test_fetch_fake.caffemodel", "test_fetch_fake.prototxt", "test_fetch_fake.npy"]
    registry = write_registry(
        tmp_path / "registry.json",
        {name: (data, []) for name in names},
        {"v2": names, "v2_norebal": names},
    )
    monkeypatch.setattr(fetch, "REGISTRY_FILE", registry)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["fetch", "--mirror", str(empty)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: Could not get 3 model files: test_fetch_fake.caffemodel, "
                                   "test_fetch_fake.prototxt, test_fetch_fake.npy.")
    assert captured.err.count("error:") == 1, "one message for all the files"
    for name in names:
        assert str(empty / name) in captured.err
        assert str(fetch.MODEL_DIR / name) in captured.err
        assert not (REPO_MODEL_DIR / name).exists()
    assert MIRROR_ENV in captured.err


def test_fetch_model_reports_every_file_it_could_not_get_in_one_message(server, tmp_path, monkeypatch, dest):
    """Two files dead, one good: the good one is fetched, and one error names both dead ones with their sources."""
    good, lost, gone = fake_bytes(seed=1), fake_bytes(seed=2), fake_bytes(seed=3)
    registry = write_registry(
        tmp_path / "registry.json",
        {"good.prototxt": (good, [server.ok("/good", good)]),
         "lost.npy": (lost, [server.status("/lost", 404)]),
         "gone.caffemodel": (gone, [server.html("/gone"), closed_port_url()])},
        {"v2": ["good.prototxt", "lost.npy", "gone.caffemodel"], "v2_norebal": ["good.prototxt"]},
    )
    monkeypatch.setattr(fetch, "REGISTRY_FILE", registry)
    with pytest.raises(ModelDownloadError) as info:
        fetch_model("v2", dest_dir=dest, progressbar=False, timeout=5)
    message = str(info.value)
    assert message.splitlines()[0] == "Could not get 2 model files: lost.npy, gone.caffemodel. Every source failed:"
    assert [f.entry.name for f in info.value.failures] == ["lost.npy", "gone.caffemodel"]
    assert [source for source, _ in failures(message)] == [server.url("/lost"), server.url("/gone"),
                                                           info.value.failures[1].tried[1][0]]
    assert f"  {dest / 'lost.npy'}  (sha256:" in message and f"  {dest / 'gone.caffemodel'}  (sha256:" in message
    assert (dest / "good.prototxt").read_bytes() == good
    assert listing(dest) == sorted([SENTINEL, "good.prototxt"])


def test_a_damaged_shipped_file_says_git_can_restore_it(dest, tmp_path, monkeypatch):
    data = fake_bytes()
    entry = fetch.ModelFile(name="net.prototxt", size=len(data), hash=entry_for("net.prototxt", data).hash, urls=(),
                            in_repository=True)
    (dest / "net.prototxt").write_bytes(damaged(data))
    with pytest.raises(ModelDownloadError, match=r"net\.prototxt came with the repository: `git checkout model/`"):
        get(entry, dest)


# --------------------------------------------------------------------------- 10: the real registry


HASH = re.compile(r"^(sha1:[0-9a-f]{40}|sha256:[0-9a-f]{64})$")


def test_real_registry_is_well_formed():
    """model/registry.json: https URLs only, positive sizes, sha1/sha256 hashes, variants of known files."""
    assert fetch.REGISTRY_FILE == REPO_MODEL_DIR / "registry.json"
    files, variants = fetch.read_registry(REPO_MODEL_DIR / "registry.json")
    assert files
    for name, entry in files.items():
        assert entry.name == name
        assert isinstance(entry.size, int) and entry.size > 0, name
        assert HASH.match(entry.hash), f"{name}: {entry.hash}"
        assert entry.urls, f"{name} has no URL"
        assert len(set(entry.urls)) == len(entry.urls), f"{name} lists a URL twice"
        for url in entry.urls:
            assert url.startswith("https://"), url
    assert {"v2", "v2_norebal"} <= set(variants)
    for variant in ("v2", "v2_norebal"):
        names = variants[variant]
        assert names and set(names) <= set(files), variant
        suffixes = sorted(Path(n).suffix for n in names)
        assert suffixes == [".caffemodel", ".npy", ".prototxt"], variant


@pytest.mark.parametrize("name", ["colorization_deploy_v2.prototxt", "pts_in_hull.npy"])
def test_shipped_model_files_match_the_registry(name):
    """The two small files in model/ are the release's: the registry's size and hash, marked in_repository."""
    files, _ = fetch.read_registry(REPO_MODEL_DIR / "registry.json")
    assert files[name].in_repository
    assert is_valid(REPO_MODEL_DIR / name, files[name])


def test_only_the_weights_are_downloaded(server, tmp_path, monkeypatch):
    """fetch_model on model/ as the repository ships it: the shipped files are verified, not fetched again."""
    files, variants = fetch.read_registry(REPO_MODEL_DIR / "registry.json")
    weights = fake_bytes(3000, seed=9)
    entries = {name: {"size": e.size, "hash": e.hash, "in_repository": e.in_repository,
                      "urls": [server.url(f"/{name}")]} for name, e in files.items()}
    entries["colorization_release_v2.caffemodel"].update(size=len(weights), hash=entry_for("w", weights).hash)
    server.ok("/colorization_release_v2.caffemodel", weights)
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"files": entries, "variants": variants}))
    monkeypatch.setattr(fetch, "REGISTRY_FILE", registry)
    dest = tmp_path / "model"
    dest.mkdir()
    for name in ("colorization_deploy_v2.prototxt", "pts_in_hull.npy"):
        (dest / name).write_bytes((REPO_MODEL_DIR / name).read_bytes())
    fetch_model("v2", dest_dir=dest, progressbar=False, timeout=5)
    assert server.hits == ["/colorization_release_v2.caffemodel"]
