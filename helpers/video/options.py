"""The options ``colorize_frames`` and ``colorize_video`` share, defined and checked once, and the settings they record.

An option that changes the colours (temperature, size, mode...) is also a setting: the frames
folder's manifest records the settings (``frame_settings``) and the folder is named after them
(``default_frames_dir``), so frames of other settings are never mixed in.

Introduced in notebook 03_video.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..backends.auto import backend_label
from ..lab.temperature import DEFAULT_TEMPERATURE, check_temperature, temperature_key
from ..media.probe import DEINTERLACE
from ..model.model_files import model_id
from ..model.net import DEFAULT_SIZE, check_size
from ..paths import COLORIZED_FRAMES
from ..restoration.steps import check_steps
from .flicker import DEFAULT_STRENGTH
from .frames_folder import settings_name
from .keyframes import KEYFRAME_INTERVAL
from .one_pass import Recipe


def model_name(net, variant: str = "v2") -> str:
    """The model as the frames' manifest records it: the weights file (``model_id``), and what runs
    ``net`` unless it is OpenCV, so frames of two back ends or precisions never mix."""
    runtime = backend_label(net)
    return model_id(variant) if runtime == "opencv fp32" else f"{model_id(variant)}; {runtime}"


def frame_settings(net, *, temperature: float = DEFAULT_TEMPERATURE, size: int = DEFAULT_SIZE,
                   model: str | None = None, mode: str = "exact", keyframe_interval: int = KEYFRAME_INTERVAL,
                   deinterlace: str = "auto", smooth: float = 0.0, restore: Sequence[str] = ()) -> dict:
    """The settings that change the colourised frames, as the manifest records them: frames of other
    settings are never mixed in, and get another folder."""
    settings = {"temperature": temperature_key(temperature), "size": size, "model": model or model_name(net),
                "deinterlace": deinterlace}
    if mode == "fast":
        settings.update(mode="fast", keyframe_interval=keyframe_interval)
    if smooth:
        settings["smooth"] = smooth
    if restore:
        settings["restore"] = list(restore)
    return settings


def default_frames_dir(video: str | os.PathLike, settings: dict) -> Path:
    """``colorized_frames/<video stem>/<settings_name>``: a folder per video and per settings, so an
    exact and a fast run of one video (or two temperatures) keep their frames side by side."""
    return COLORIZED_FRAMES / Path(video).stem / settings_name(settings)


@dataclass(frozen=True)
class FrameOptions:
    """The keyword arguments of ``colorize_frames`` (its docstring says what each one does), checked
    when made: a ValueError for options no run can use comes before any work."""

    frames_dir: str | os.PathLike | None = None
    temperature: float = DEFAULT_TEMPERATURE
    size: int = DEFAULT_SIZE
    model: str | None = None
    start: int = 0
    max_frames: int | None = None
    restart: bool = False
    mode: str = "exact"
    keyframe_interval: int = KEYFRAME_INTERVAL
    deinterlace: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        check_size(self.size)
        check_temperature(self.temperature)
        if self.mode not in ("exact", "fast"):
            raise ValueError(f'mode must be "exact" (the network on every frame) or "fast" (keyframes and optical '
                             f"flow), got {self.mode!r}.")
        if self.deinterlace not in DEINTERLACE:
            raise ValueError(f"deinterlace must be one of {', '.join(DEINTERLACE)}, got {self.deinterlace!r}.")
        if self.start < 0 or (self.max_frames is not None and self.max_frames < 1) or self.keyframe_interval < 1:
            raise ValueError(f"Need start >= 0, max_frames >= 1 and keyframe_interval >= 1; got start={self.start}, "
                             f"max_frames={self.max_frames}, keyframe_interval={self.keyframe_interval}.")

    @classmethod
    def given(cls, options: dict, *, to: str) -> FrameOptions:
        """The options passed to the function ``to`` as keyword arguments; a name it does not take is
        the TypeError Python gives for any function (``to() got an unexpected keyword argument ...``)."""
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"{to}() got an unexpected keyword argument {unknown[0]!r}")
        return cls(**options)

    @property
    def strength(self) -> float:
        """``TemporalSmoother`` strength; 0: no smoothing (``colorize_frames`` never smooths)."""
        return 0.0

    @property
    def restore_steps(self) -> tuple[str, ...]:
        """Checked restoration steps (``helpers.restoration``); none for ``colorize_frames``."""
        return ()

    def settings(self, net) -> dict:
        """The settings the manifest records."""
        return frame_settings(net, temperature=self.temperature, size=self.size, model=self.model, mode=self.mode,
                              keyframe_interval=self.keyframe_interval, deinterlace=self.deinterlace,
                              smooth=self.strength, restore=self.restore_steps)

    def recipe(self, net) -> Recipe:
        """What changes the colours, as ``helpers.video.one_pass`` runs it."""
        return Recipe(self.mode, self.size, self.temperature, self.keyframe_interval, self.deinterlace,
                      self.strength, self.restore_steps)

    def folder(self, video: Path, settings: dict) -> Path:
        """The frames folder: the one given, else a folder per video and settings."""
        return Path(self.frames_dir) if self.frames_dir else default_frames_dir(video, settings)

    def deinterlaces(self, interlaced: bool) -> bool:
        """Whether the frames of a video (``interlaced`` as it marks itself) are deinterlaced."""
        return self.deinterlace == "on" or (self.deinterlace == "auto" and interlaced)


@dataclass(frozen=True)
class VideoOptions(FrameOptions):
    """The keyword arguments of ``colorize_video``: those of ``colorize_frames`` and its own."""

    out: str | os.PathLike | None = None
    smooth: bool | float = False
    restore: Sequence[str] = ()
    keep_frames: bool = False
    client: object = None
    variant: str = "v2"
    model_dir: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_steps(self.restore)

    @property
    def strength(self) -> float:
        return (DEFAULT_STRENGTH if self.smooth is True else float(self.smooth)) if self.smooth else 0.0

    @property
    def restore_steps(self) -> tuple[str, ...]:
        return check_steps(self.restore)


def takes_options(options: type[FrameOptions]) -> Callable:
    """Decorate ``f(video, net, **options)`` so that its signature shows the fields of ``options`` as
    keyword arguments with their defaults (``help()``, Jupyter's Shift+Tab): they are written once."""
    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        keywords = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
                    for f in dataclasses.fields(options)]
        function.__signature__ = signature.replace(parameters=fixed + keywords)
        return function
    return decorate
