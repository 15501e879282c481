"""Folders of the project, anchored on the repository root (never on the working directory).

Notebooks run with ``notebooks/`` as their working directory and the command line runs from
anywhere, so every path is built from this file's location instead.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL_DIR = REPO_ROOT / "model"
NOTEBOOKS = REPO_ROOT / "notebooks"
INPUT_IMAGES = REPO_ROOT / "input_images"
INPUT_VIDEO = REPO_ROOT / "input_video"
COLORIZED_IMAGES = REPO_ROOT / "colorized_images"
COLORIZED_FRAMES = REPO_ROOT / "colorized_frames"
COLORIZED_VIDEOS = REPO_ROOT / "colorized_videos"
