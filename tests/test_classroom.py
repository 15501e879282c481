"""The classroom app: uploads checked by content, one queue, the access code, nothing of the disk
reachable, removal, 30 students at once with flat memory, the command line."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

import helpers
from helpers import classroom
from helpers.paths import INPUT_IMAGES, REPO_ROOT

SAMPLE = INPUT_IMAGES / "coffee.jpg"


# --------------------------------------------------------------------------- uploads
def _jpeg(size=(64, 48), value=90) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, value).save(out, "JPEG")
    return out.getvalue()


def test_uploads_are_checked_by_content_not_name():
    assert classroom.check_upload(SAMPLE.read_bytes()) == "JPEG"
    gif = io.BytesIO()
    Image.new("L", (10, 10)).save(gif, "GIF")
    assert classroom.check_upload(gif.getvalue()) == "GIF"
    with pytest.raises(classroom.UploadError, match="not a photo") as text:
        classroom.check_upload(b"hello, this is a text file called photo.jpg\n" * 10)
    assert text.value.status == 415
    with pytest.raises(classroom.UploadError, match="damaged or cut off"):
        classroom.check_upload(SAMPLE.read_bytes()[:4000])  # a truncated JPEG
    with pytest.raises(classroom.UploadError, match="empty"):
        classroom.check_upload(b"")
    pdf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(pdf, "PDF")
    with pytest.raises(classroom.UploadError) as refused:
        classroom.check_upload(pdf.getvalue())
    assert refused.value.status == 415


def test_huge_pictures_and_files_are_refused_before_decoding():
    big = io.BytesIO()
    Image.new("L", (10_000, 10_000)).save(big, "PNG")  # 100 megapixels, a small file
    with pytest.raises(classroom.UploadError, match="megapixels") as refused:
        classroom.check_upload(big.getvalue())
    assert refused.value.status == 413
    with pytest.raises(classroom.UploadError, match="MB") as refused:
        classroom.check_upload(b"\xff\xd8" + b"\0" * (classroom.MAX_UPLOAD_MB * 1024 * 1024 + 10))
    assert refused.value.status == 413


# --------------------------------------------------------------------------- a server in this process
class Server:
    """The app in a thread of this process, for tests that talk HTTP to it."""

    def __init__(self, net, folder: Path, code: str | None = None, teacher: str | None = None,
                 **options) -> None:
        self.code, self.folder = code, folder
        started = threading.Event()

        def ready(url, queue):
            self.url, self.queue = url, queue
            started.set()

        self.stop = threading.Event()
        self.thread = threading.Thread(target=classroom.serve, args=(net,), daemon=True,
                                       kwargs={"port": 0, "folder": folder, "code": code, "teacher": teacher,
                                               "ready": ready, "stop": self.stop, **options})
        self.thread.start()
        assert started.wait(30)

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
        """(status, headers, body bytes)."""
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def upload(self, data: bytes, name: str = "photo.jpg", temperature: float | None = None, headers=None):
        boundary = uuid.uuid4().hex
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\n"
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"]
        if temperature is not None:
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"temperature\"\r\n\r\n"
                         f"{temperature}\r\n".encode())
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        status, _, answer = self.request("/api/photos", body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})
        return status, json.loads(answer)

    def wait(self, job_id: str, headers=None, timeout=60) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, _, body = self.request(f"/api/photos/{job_id}", headers=headers)
            job = json.loads(body)
            if job.get("state") in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"{job_id} not done in {timeout} s")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)


@pytest.fixture
def server(net, tmp_path):
    s = Server(net, tmp_path / "session")
    yield s
    s.close()


def test_a_photo_comes_back_in_colour_at_full_size(server):
    assert server.url.startswith("http://localhost:")
    status, job = server.upload(SAMPLE.read_bytes(), "Grandma's photo.jpg")
    assert status == 202 and job["state"] in ("waiting", "working", "done") and job["owner"]
    mine = {"X-Owner": job["owner"]}
    done = server.wait(job["id"], headers=mine)
    assert done["state"] == "done" and done["name"] == "Grandma's photo.jpg"
    status, headers, color = server.request(done["color"])
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    original = Image.open(SAMPLE)
    result = Image.open(io.BytesIO(color))
    assert result.size == original.size and result.mode == "RGB"
    pixels = np.asarray(result, np.int16)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() > 1  # colour, not gray
    status, _, gray = server.request(done["gray"], headers=mine)
    assert status == 200 and Image.open(io.BytesIO(gray)).size == original.size
    assert server.request(done["gray"])[0] == 404  # the photo itself is its owner's: the class sees the result
    status, headers, _ = server.request(done["color"] + "?download=1")
    assert 'filename="Grandma\'s photo_color.jpg"' in headers["Content-Disposition"]
    status, _, body = server.request("/api/gallery")
    assert [(p["id"], p["gray"]) for p in json.loads(body)["photos"]] == [(done["id"], None)]


def test_temperature_makes_a_new_result_and_keeps_the_first(server):
    _, job = server.upload(SAMPLE.read_bytes(), temperature=0.38)
    first = server.wait(job["id"])
    again = (f"/api/photos/{first['id']}/again", json.dumps({"temperature": 1.0}).encode())
    status, _, body = server.request(*again, {"Content-Type": "application/json"})
    assert status == 403 and "Only the phone that sent this photo" in json.loads(body)["error"]  # not the owner
    status, _, body = server.request(*again, {"Content-Type": "application/json", "X-Owner": job["owner"]})
    assert status == 202
    second = server.wait(json.loads(body)["id"])
    assert second["temperature"] == 1.0 and second["color"] != first["color"]
    a, b = (server.request(j["color"])[2] for j in (first, second))
    assert a != b
    status, _, body = server.request(f"/api/photos/{first['id']}/again", b'{"temperature": 99}',
                                     {"X-Owner": job["owner"]})
    assert status == 400 and "temperature" in json.loads(body)["error"].lower()


def test_a_photo_sent_without_a_temperature_gets_the_apps(net, tmp_path):
    """``app --temperature``: the teacher's temperature, whatever the shared network was left at."""
    helpers.set_temperature(net, 1.0)
    server = Server(net, tmp_path / "session", temperature=0.2)
    try:
        _, job = server.upload(SAMPLE.read_bytes())
        done = server.wait(job["id"])
        assert done["state"] == "done" and done["temperature"] == 0.2
    finally:
        server.close()


def test_a_transparent_photo_is_coloured_as_it_is_shown(server, tmp_path):
    """Hidden pixels (black under full transparency) are white in the result, as a phone shows them."""
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[:, :32] = (120, 120, 120, 255)  # left half: an opaque gray picture; right half: hidden black
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    done = server.wait(server.upload(buffer.getvalue(), "logo.png")[1]["id"])
    colour = np.asarray(Image.open(io.BytesIO(server.request(done["color"])[2])).convert("L"), np.int16)
    assert colour[:, 40:].mean() > 200 and abs(colour[:, :24].mean() - 120) < 12


def test_bad_uploads_get_a_clear_message_and_nothing_is_kept(server):
    before = sorted(server.folder.iterdir())
    for data, name, words in [
        (b"just some text\n" * 100, "notes.jpg", "not a photo"),
        (SAMPLE.read_bytes()[:3000], "cut.jpg", "damaged or cut off"),
    ]:
        status, answer = server.upload(data, name)
        assert status in (400, 415) and words in answer["error"], answer
    big = io.BytesIO()
    Image.new("L", (10_000, 10_000)).save(big, "PNG")
    status, answer = server.upload(big.getvalue(), "huge.png")
    assert status == 413 and "megapixels" in answer["error"]
    assert sorted(server.folder.iterdir()) == before  # nothing of a refused upload is kept


def test_nothing_of_the_disk_is_reachable(server):
    for path in ("/files/../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd", "/files/abcdefgh/color.jpg",
                 "/api/photos/..%2f..%2fetc", "/helpers/classroom.py", "/classroom_page.html", "/../README.md"):
        status, _, body = server.request(path)
        assert status in (400, 404), path
        assert b"root:" not in body and b"import" not in body


def test_only_the_uploader_removes_a_photo_and_its_files_go(server):
    _, job = server.upload(SAMPLE.read_bytes())
    done = server.wait(job["id"])
    [photo] = server.folder.iterdir()  # the photo's own folder: the upload, its gray version, the result
    assert len(list(photo.iterdir())) == 4  # ... and the result's thumbnail for the gallery
    status, _, _ = server.request(f"/api/photos/{done['id']}", method="DELETE", headers={"X-Owner": "guess"})
    assert status == 404
    status, _, _ = server.request(f"/api/photos/{done['id']}", method="DELETE", headers={"X-Owner": job["owner"]})
    assert status == 200
    assert list(server.folder.iterdir()) == []
    assert server.request(done["color"])[0] == 404


def test_the_session_folder_is_removed_when_the_app_stops(net, tmp_path):
    s = Server(net, tmp_path / "session")
    s.upload(SAMPLE.read_bytes())
    s.close()
    assert not (tmp_path / "session").exists()


def test_the_access_code_guards_every_request(net, tmp_path):
    s = Server(net, tmp_path / "session", code="ABC234")
    try:
        status, _, body = s.request("/")
        assert status == 403 and b"Access code" in body
        status, answer = s.upload(SAMPLE.read_bytes())
        assert status == 403 and "access code" in answer["error"]
        status, answer = s.upload(SAMPLE.read_bytes(), headers={"X-Access-Code": "WRONG1"})
        assert status == 403
        assert s.request("/api/gallery")[0] == 403 and s.request("/qr.svg")[0] == 403
        status, headers, body = _no_redirect(s.url + "?code=abc234")  # typed in lower case on a phone
        assert status == 302 and headers["Location"] == "/"  # the code leaves the address bar
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in headers["Set-Cookie"] and "ABC234" not in headers["Set-Cookie"]  # a token, not the code
        status, headers, body = s.request("/", headers={"Cookie": cookie})
        assert status == 200 and b"Colourise a black-and-white photo" in body
        status, answer = s.upload(SAMPLE.read_bytes(), headers={"Cookie": cookie})
        assert status == 202
        status, headers, svg = s.request("/qr.svg", headers={"Cookie": cookie})
        assert status == 200 and svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    finally:
        s.close()


def _no_redirect(url: str, headers: dict | None = None):
    """(status, headers, body) of a GET that does not follow a redirect."""
    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(Stay).open(urllib.request.Request(url, headers=headers or {}),
                                                    timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# --------------------------------------------------------------------------- the command line
def start_app(model_dir, *args):
    """``python -m helpers app --port 0 ARGS`` with the model files in ``model_dir``, started and
    listening: (the process, the address it printed, all it printed until then)."""
    env = {**os.environ, "COLORIZE_MODEL_DIR": str(model_dir)}
    process = subprocess.Popen([sys.executable, "-m", "helpers", "app", "--port", "0", *args], cwd=REPO_ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Stop with Ctrl+C" in line:
            break
    text = "".join(lines)
    match = re.search(r"Classroom app: (http://\S+)", text)
    assert match, text
    return process, match.group(1), text


def test_cli_listens_on_this_computer_only_by_default(tiny_model):
    process, url, text = start_app(tiny_model, "--backend", "opencv")
    try:
        assert "Only this computer can open it" in text and "Access code" not in text
        addresses = {c.laddr.ip for c in psutil.Process(process.pid).net_connections() if c.status == "LISTEN"}
        assert addresses == {"127.0.0.1"}
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
    finally:
        process.terminate()
        process.wait(30)


def test_cli_with_host_requires_the_printed_code(tiny_model):
    process, url, text = start_app(tiny_model, "--backend", "opencv", "--host", "0.0.0.0")
    try:
        code = re.search(r"Access code: ([A-Z0-9]{6})", text).group(1)
        assert f"?code={code}" in url and "▀" in text or "█" in text  # the QR code, drawn in the terminal
        port = url.split(":")[2].split("/")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/gallery", timeout=10)
        assert refused.value.code == 403
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/gallery?code={code}", timeout=10) as ok:
            assert json.loads(ok.read())["photos"] == []
    finally:
        process.terminate()
        process.wait(30)


# --------------------------------------------------------------------------- a class at once
def test_thirty_students_at_once(tiny_model, tmp_path):
    """30 clients x 2 photos against one server process: every request answered, none lost, the
    queue drains, and the server's memory stays flat (peak RSS under load <= 1.3 x idle)."""
    process, url, _ = start_app(tiny_model, "--backend", "opencv")
    server = Server.__new__(Server)
    server.url = url
    try:
        me = psutil.Process(process.pid)
        server.wait(server.upload(SAMPLE.read_bytes(), "warm-up.jpg")[1]["id"])  # a first photo sets up the network
        time.sleep(0.5)
        idle = me.memory_info().rss
        peak = [idle]
        done = threading.Event()

        def sample():
            while not done.wait(0.05):
                peak[0] = max(peak[0], me.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        photos = [p.read_bytes() for p in sorted(INPUT_IMAGES.glob("*.jpg"))]
        answers: list = []

        def student(n: int) -> None:
            for k in range(2):
                answers.append(server.upload(photos[(n + k) % len(photos)], f"student{n}_{k}.jpg"))

        threads = [threading.Thread(target=student, args=(n,)) for n in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(answers) == 60
        assert all(status == 202 for status, _ in answers), [a for a in answers if a[0] != 202][:3]
        positions = sorted(job["position"] for _, job in answers)
        assert positions[-1] >= 30  # they really queued
        results = [server.wait(job["id"], timeout=300) for _, job in answers]
        done.set()
        sampler.join()
        assert all(r["state"] == "done" for r in results)
        assert len({r["id"] for r in results}) == 60
        status, _, body = server.request("/api/gallery")
        assert len(json.loads(body)["photos"]) == 61
        assert peak[0] <= 1.3 * idle, f"peak {peak[0] / 1e6:.0f} MB vs idle {idle / 1e6:.0f} MB"
    finally:
        process.terminate()
        process.wait(30)
