"""The notebooks in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by Playwright.

For each notebook: open it, Run All Cells, check no cell failed, move the first slider and check
that the picture it controls changed. Screenshots go to test-output/browser/.

Needs /usr/bin/chromium (``apt-get install chromium``; .ci/run installs it). Elsewhere the test
is skipped, unless REQUIRE_BROWSER=1 makes a missing browser a failure (CI sets it).
"""

from __future__ import annotations

import os
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
    yield base, token
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


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_in_a_real_browser(lab, browser, path):
    base, token = lab
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
        outputs = "\n".join(page.locator(f"{PANEL} .jp-OutputArea-output").all_inner_texts())
        pytest.fail(f"Run All did not finish; prompts {prompts}\n{outputs[-3000:]}")
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}_after_run_all.png"))

    outputs = "\n".join(page.locator(f"{PANEL} .jp-OutputArea-output").all_inner_texts())
    assert "Traceback" not in outputs and "Error" not in outputs.replace("ModelLoadError", ""), outputs[-3000:]
    for name, text in CELLS_TO_SEE.get(path.stem, {}).items():  # what a learner reads there, to look at
        cell = page.locator(f"{PANEL} .jp-CodeCell", has_text=text).first
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(SCREENSHOTS / f"{path.stem}_{name}.png"))

    # the first slider widget and the output area (the picture) it belongs to
    slider_css = ".widget-slider .noUi-target, .widget-hslider .noUi-target"
    slider = page.locator(PANEL).locator(slider_css).first
    slider.wait_for(timeout=60_000)
    slider.scroll_into_view_if_needed()
    widget_output = page.locator(PANEL).locator(".jp-OutputArea-output", has=page.locator(slider_css)).first
    before = widget_output.screenshot(path=str(SCREENSHOTS / f"{path.stem}_slider_before.png"))
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    page.wait_for_timeout(1500)  # the kernel re-renders the picture and sends it back
    after = widget_output.screenshot(path=str(SCREENSHOTS / f"{path.stem}_slider_after.png"))
    assert before != after, "moving the slider did not change the picture"
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
