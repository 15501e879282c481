"""The notebooks in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by Playwright.

For each notebook: open it, Run All Cells, check that no cell failed, move every slider and check
that the picture it controls changed, that every video player has loaded its video, and that
the notebook saved after Run All stays small. Notebook 03's exercise "press stop, run again" is
done with JupyterLab's own interrupt. Screenshots go to test-output/browser/.

Needs /usr/bin/chromium (``apt-get install chromium``; .ci/run installs it). Elsewhere the test
is skipped, unless REQUIRE_BROWSER=1 makes a missing browser a failure (CI sets it).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.paths import NOTEBOOKS, REPO_ROOT
from tests.conftest import prepare_notebook, wait_for_jupyter

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO_ROOT / "test-output" / "browser"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
"""The notebook on show (JupyterLab may restore other tabs, hidden, in the same page)."""
CELLS_TO_SEE = {"02_photo": {"reading_the_network": "readNetFromONNX", "inside_the_onnx_file": "import onnx"}}
"""Code cells whose input and output are saved as screenshots of their own (notebook: {name: text in the cell})."""
INTERRUPTED_CELLS = {"03_video": "png_report = video.colorize_frames("}
"""A cell whose run the test stops with Kernel > Interrupt and then runs again, as the notebook invites."""
SAVED_LIMIT = 2_000_000
"""Bytes a notebook may take once saved after Run All (its videos are players, not embedded files)."""
CHROMIUM_ARGS = [  # no GPU, and no calls home: this machine's network is closed
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


reason = _missing_browser()
if reason and os.environ.get("REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"REQUIRE_BROWSER=1 but {reason}")
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(notebook_model, tmp_path_factory):
    """JupyterLab serving a COPY of notebooks/, so the browser's autosave never touches the repo."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    for path in (root / "notebooks").glob("*.ipynb"):  # short runs, as in test_notebooks
        nb = nbformat.read(path, as_version=4)
        prepare_notebook(nb)
        nbformat.write(nb, path)
    # render every cell (JupyterLab 4 otherwise only puts the visible ones in the page)
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    news = root / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "COLORIZE_MODEL_DIR": str(notebook_model), "COLORIZE_OUTPUT_DIR": str(root / "outputs"),
           "JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_jupyter(f"{base}/api/status?token={token}", server, root / "lab.log", "jupyter lab")
    except BaseException:
        server.kill()
        raise
    yield base, token, root
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _run_all_cells(page) -> None:
    cells = f"{PANEL} .jp-CodeCell .jp-InputArea-prompt"
    prompts = f"[...document.querySelectorAll('{cells}')].map(p => p.textContent)"
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:  # a Run All sent while the kernel is still connecting can be lost: then try again
            page.wait_for_function(f"() => {prompts}.some(t => /[*0-9]/.test(t))", timeout=15_000)
            break
        except Exception:
            if attempt == 2:
                raise
    # running cells show [*]; when every code cell has a number, the notebook has finished
    page.wait_for_function(f"() => {prompts}.every(t => /[0-9]/.test(t))", timeout=240_000, polling=500)


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def _outputs(page, locator=None) -> str:
    return "\n".join((locator or page.locator(PANEL)).locator(".jp-OutputArea-output").all_inner_texts())


def _stop_and_resume(page, marker: str, name: str) -> None:
    """Run the cell holding ``marker``, made slow enough to stop, press Kernel > Interrupt while it
    runs, check that it printed one line and no traceback, then run it again: it resumes."""
    cell = page.locator(f"{PANEL} .jp-CodeCell", has_text=marker).first
    # each frame takes 0.3 s longer, in the notebook's own kernel, so that there is time to stop it
    _run_in_kernel(page, "import shutil, time, helpers, helpers.video.one_pass as op; shutil.rmtree(FRAMES); "
                         "op.colorize = lambda *a, **k: (time.sleep(0.3), helpers.colorize(*a, **k))[1]")
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output').length > 0")
    page.wait_for_timeout(2500)  # a few frames are written
    _menu(page, "Kernel", "Interrupt Kernel")
    page.wait_for_function(f"""() => [...document.querySelectorAll('{PANEL} .jp-CodeCell')]
        .some(c => c.textContent.includes({marker!r}) && c.textContent.includes('Stopped: stopped at frame'))""",
                           timeout=30_000)
    stopped = _outputs(page, cell)
    cell.screenshot(path=str(SCREENSHOTS / f"{name}_stopped.png"))
    assert "Traceback" not in stopped and "KeyboardInterrupt" not in stopped, stopped
    assert len([line for line in stopped.splitlines() if line.startswith("Stopped")]) == 1, stopped
    _run_in_kernel(page, "op.colorize = helpers.colorize")
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"""() => [...document.querySelectorAll('{PANEL} .jp-CodeCell')]
        .some(c => c.textContent.includes({marker!r}) && [...c.querySelectorAll('.jp-OutputArea-output')]
              .some(o => / reused, in /.test(o.textContent)))""", timeout=120_000)
    resumed = _outputs(page, cell)
    counts = re.search(r"(\d+) frames computed, (\d+) reused", resumed)
    assert counts and int(counts[2]) > 0 and int(counts[1]) > 0, resumed  # kept what was done, did the rest
    assert "Stopped" not in resumed and "Traceback" not in resumed


def _run_in_kernel(page, code: str) -> None:
    """Run ``code`` in a new cell at the end of the notebook (typed as a learner would), then delete the cell."""
    last = page.locator(f"{PANEL} .jp-Cell").last
    last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, in command mode
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Control+Enter")
    new = page.locator(f"{PANEL} .jp-CodeCell").last
    new.locator(".jp-InputArea-prompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=60_000)
    assert "Error" not in _outputs(page, new), _outputs(page, new)
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.keyboard.press("d")  # delete it again: the saved notebook is the learner's


def _pictures(area) -> list[bytes]:
    return [image.screenshot() for image in area.locator("img").all()]


def _every_slider_answers(page, name: str) -> int:
    """Move each slider of the notebook; the pictures in the same output must change. Returns how many."""
    slider_css = ".widget-slider .noUi-target, .widget-hslider .noUi-target"
    sliders = page.locator(PANEL).locator(slider_css)
    for n in range(sliders.count()):
        slider = sliders.nth(n)
        slider.scroll_into_view_if_needed()
        area = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]").first
        before = _pictures(area)
        assert before, f"slider {n} of {name} has no picture beside it"
        box = slider.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
        try:  # the kernel redraws and sends the picture back: a few seconds at most (the explorer runs the network)
            for _ in range(40):
                page.wait_for_timeout(250)
                if _pictures(area) != before:
                    break
        finally:
            area.screenshot(path=str(SCREENSHOTS / f"{name}_slider_{n}.png"))
        assert _pictures(area) != before, f"moving slider {n} of {name} did not change its picture"
    return sliders.count()


def _every_video_loads(page) -> int:
    """Wait until each <video> in the notebook has its length (the browser read the file); returns how many."""
    videos = page.locator(f"{PANEL} video")
    page.wait_for_function(f"""() => [...document.querySelectorAll('{PANEL} video')]
        .every(v => v.readyState >= 1 && v.duration > 0)""", timeout=60_000)
    return videos.count()


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_in_a_real_browser(lab, browser, path):
    base, token, root = lab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/lab/tree/notebooks/{path.name}?token={token}", wait_until="domcontentloaded")
    page.locator(f"{PANEL} .jp-Cell").first.wait_for(timeout=60_000)
    # the status bar reads "No Kernel | Initializing" until the kernel's websocket is up
    page.locator(".jp-StatusBar-TextItem", has_text="ipykernel) | Idle").first.wait_for(timeout=90_000)
    try:
        _run_all_cells(page)
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"{path.stem}_stuck.png"), full_page=True)
        prompts = page.locator(f"{PANEL} .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        pytest.fail(f"Run All did not finish; prompts {prompts}\n{_outputs(page)[-3000:]}")
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}_after_run_all.png"))

    outputs = _outputs(page)
    assert "Traceback" not in outputs and "Error" not in outputs.replace("ModelLoadError", ""), outputs[-3000:]
    for name, text in CELLS_TO_SEE.get(path.stem, {}).items():  # what a learner reads there, to look at
        cell = page.locator(f"{PANEL} .jp-CodeCell", has_text=text).first
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(SCREENSHOTS / f"{path.stem}_{name}.png"))
    if path.stem.startswith(("03", "04", "05")):
        assert _every_video_loads(page) >= 2
    assert _every_slider_answers(page, path.stem) >= 1
    if path.stem in INTERRUPTED_CELLS:
        _stop_and_resume(page, INTERRUPTED_CELLS[path.stem], path.stem)

    saved = root / "notebooks" / path.name
    before = saved.stat().st_mtime
    page.locator(f"{PANEL} .jp-Cell").first.click()
    page.keyboard.press("Control+s")
    for _ in range(40):
        if saved.stat().st_mtime != before:
            break
        page.wait_for_timeout(250)
    assert saved.stat().st_mtime != before, "the notebook was not saved"
    page.wait_for_timeout(500)  # the write completes
    assert saved.stat().st_size < SAVED_LIMIT, f"{path.name} saved after Run All: {saved.stat().st_size:,} bytes"
    assert not errors, errors
    page.close()


def test_classroom_app_in_a_real_browser(browser, notebook_model):
    """The classroom app: send a sample photo, see it colourised, move the before/after wipe.
    The screenshot is the README's (test-output/browser/classroom.png; docs/classroom.png is a copy)."""
    from helpers.paths import INPUT_IMAGES
    from tests.test_classroom import start_app

    app, url, _ = start_app(notebook_model)
    try:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(url)
        page.set_input_files("#photo", str(INPUT_IMAGES / "astronaut.jpg"))
        page.wait_for_selector("#result:not([hidden])", timeout=120_000)
        page.wait_for_function("() => document.getElementById('after').naturalWidth > 0", timeout=30_000)
        assert "Done in" in page.inner_text("#status")
        assert page.eval_on_selector("#after", "img => img.naturalWidth") == 512  # the full-size result
        page.locator("#split").fill("25")
        assert page.eval_on_selector("#after", "img => img.style.clipPath") == "inset(0px 0px 0px 25%)"
        box = page.locator("#wipe").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + 20, steps=5)
        page.mouse.up()
        assert abs(float(page.input_value("#split")) - 70) < 3  # dragging across the picture moves the wipe
        page.wait_for_selector(".gallery figure img", timeout=10_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "classroom.png"))
        page.close()
    finally:
        app.terminate()
        app.wait(30)


def test_classroom_app_on_a_phone_survives_a_wifi_drop(browser, notebook_model):
    """On a phone-sized page: the photo is sent, the Wi-Fi drops for 3 s (requests blocked), the page
    says so in words, and the result appears by itself once the connection is back."""
    from helpers.paths import INPUT_IMAGES
    from tests.test_classroom import start_app

    app, url, _ = start_app(notebook_model)
    try:
        phone = browser.new_context(viewport={"width": 412, "height": 915}, has_touch=True, is_mobile=True)
        page = phone.new_page()
        page.goto(url)
        page.wait_for_function("() => !document.getElementById('notice').hidden", timeout=15_000)
        assert "STAND-IN" in page.inner_text("#notice")  # the page says what the terminal says
        for _ in range(5):  # the upload is reachable from the keyboard
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "photo":
                break
        assert page.evaluate("document.activeElement.id") == "photo"
        dropped = []
        page.route("**/api/photos/*", lambda route: (dropped.append(route.request.url), route.abort()))
        page.set_input_files("#photo", str(INPUT_IMAGES / "astronaut.jpg"))
        page.wait_for_function("() => document.getElementById('status').textContent.includes('lost the connection')",
                               timeout=30_000)
        page.wait_for_timeout(3000)
        page.unroute("**/api/photos/*")
        page.wait_for_selector("#result:not([hidden])", timeout=120_000)
        assert dropped and "Done in" in page.inner_text("#status")
        page.reload()  # the phone's cookie owns the photo: after a reload it is shown again
        page.wait_for_selector("#result:not([hidden])", timeout=30_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "classroom_phone.png"), full_page=True)
        phone.close()
    finally:
        app.terminate()
        app.wait(30)
