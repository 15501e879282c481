"""Run every notebook top to bottom, as a learner would, against a stand-in model folder."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.paths import NOTEBOOKS
from tests.conftest import prepare_notebook

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def executed(notebook_model, tmp_path_factory):
    """Each notebook executed once; the kernel inherits COLORIZE_MODEL_DIR, so nothing is downloaded."""
    cache: dict[Path, nbformat.NotebookNode] = {}

    def run(path: Path) -> nbformat.NotebookNode:
        if path not in cache:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("COLORIZE_MODEL_DIR", str(notebook_model))
                # results go to a temporary folder, never among the learner's own
                mp.setenv("COLORIZE_OUTPUT_DIR", str(tmp_path_factory.mktemp("outputs")))
                nb = nbformat.read(path, as_version=4)
                prepare_notebook(nb)
                client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                        resources={"metadata": {"path": str(path.parent)}})
                client.execute()
                cache[path] = nb
        return cache[path]

    return run


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_runs_top_to_bottom(path, executed):
    nb = executed(path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert any(o.get("data", {}).get("image/png") for c in nb.cells for o in c.get("outputs", [])), \
        "a notebook of this tutorial shows at least one figure"


def test_photo_notebook_step_by_step_matches_the_helper(executed):
    nb = executed(NOTEBOOKS / "02_photo.ipynb")
    text = text_of(nb)
    assert "largest difference between the two: 0 grey levels" in text
    assert "conv8_313 (scores): (1, 313, 56, 56)" in text and "class8_ab (colour): (1, 2, 56, 56)" in text
    assert "STAND-IN model" in text  # the learner is told why the colours are noise


def test_notebooks_follow_the_skeleton():
    for path in NOTEBOOK_FILES:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "markdown" and first.source.startswith("# ")
        assert "mybinder.org/badge_logo.svg" in first.source
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "Try it yourself" in markdown
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for forbidden in ("cv2.imshow", "argparse", "exit(", "sys.path"):
            assert forbidden not in code, f"{path.name} uses {forbidden}"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: outputs must be stripped"
