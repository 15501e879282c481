"""Restoration of the gray frames before they are coloured (``video --restore``): the steps, by name.

Clean lightness gives cleaner colour, so restoration runs on the decoded frames, in the same
pass, before the network (``helpers.video.one_pass``). Each step needs a few frames of context on
each side (``RESTORE_CONTEXT``): a segment decodes that many more frames before and after it,
restores them all and colours only its own, so its frames do not depend on how the video was
cut into segments.

Steps so far, in this order: ``deflicker`` (``helpers.restoration.deflicker``: luminance flicker), then
``dust`` (``helpers.restoration.dust``: specks of dust and dirt in one frame), then ``scratches``
(``helpers.restoration.scratches``: thin vertical lines that stay put for many frames), then ``grain``
(``helpers.restoration.grain``: film grain, averaged away along the motion; last, so the specks and lines are
gone before frames are averaged). The steps run in a thread of their own, and grain follows the flow
dust computed (``restored_images``). To be taught in notebook 05_restoration.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..common.background import ahead
from ..media.decode import Frame
from ..media.motion import PairFlows
from .deflicker import RADIUS, Deflicker
from .dust import Dusting
from .grain import RADIUS as GRAIN_RADIUS
from .grain import Degraining
from .scratches import RADIUS as SCRATCH_RADIUS
from .scratches import Descratching

RESTORE_STEPS = ("deflicker", "dust", "scratches", "grain")
"""The restoration steps, in the order they run; ``--restore`` alone runs them all."""
RESTORE_CONTEXT = RADIUS + 1 + SCRATCH_RADIUS + GRAIN_RADIUS
"""Frames each side of a frame that restoring it looks at: deflicker's ``RADIUS``, then dust's one
frame each side of the deflickered frames, the scratches' ``RADIUS`` each side of those, and
grain's ``GRAIN_RADIUS`` each side of the cleaned ones."""


def check_steps(steps: Sequence[str]) -> tuple[str, ...]:
    """``steps`` as a tuple in running order, or ValueError naming the steps there are."""
    return checked_steps(steps, RESTORE_STEPS, "restoration")


def checked_steps(steps: Sequence[str], known: Sequence[str], kind: str) -> tuple[str, ...]:
    """``steps`` in the order of ``known``, or ValueError naming the ``kind`` of steps there are.

    Example: ``checked_steps(["grain", "dust"], RESTORE_STEPS, "restoration")`` is ``("dust", "grain")``.
    """
    unknown = [step for step in steps if step not in known]
    if unknown:
        raise ValueError(f"Unknown {kind} step(s) {', '.join(map(repr, unknown))}: the steps are "
                         f"{', '.join(known)}.")
    return tuple(step for step in known if step in steps)


def restored(frames: Iterable[Frame], steps: Sequence[str]) -> Iterator[Frame]:
    """The decoded ``frames`` (consecutive, in order) with the restoration ``steps`` applied to their
    images; each comes out once the ``RESTORE_CONTEXT`` frames after it are in (or the video ended)."""
    waiting: dict[int, Frame] = {}

    def images() -> Iterator[tuple[int, object]]:
        for frame in frames:
            waiting[frame.index] = frame
            yield frame.index, frame.image

    for index, image in restored_images(images(), steps):
        yield waiting.pop(index)._replace(image=image)  # the rest of each Frame kept


def restored_images(images: Iterable[tuple[int, np.ndarray]], steps: Sequence[str]) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, image)`` in, ``(index, restored image)`` out, in order, through the ``steps``.

    The steps run one after the other in one thread of their own (``helpers.common.background.ahead``), so the
    caller (the network) works meanwhile. Not a thread per step: much of a step's work is short OpenCV
    calls, each handing Python's lock to another thread, and on 2 cores four step threads took 10 to
    20 % longer than one (``bench.restoration``, all four at once). Dust and grain follow the same
    motion: the flow dust computes is handed on to grain (``PairFlows``) rather than computed again on
    the frames a few steps cleaner.

    Example: ``for index, image in restored_images(enumerate(frames), RESTORE_STEPS): ...``
    """
    steps = check_steps(steps)
    flows = PairFlows(users=2) if "dust" in steps and "grain" in steps else None
    for step in steps:
        made = STEPS[step](flows=flows) if step in FOLLOW_FLOW else STEPS[step]()
        images = made.run(images)
    yield from ahead(images, RESTORED_AHEAD)


STEPS = {"deflicker": Deflicker, "dust": Dusting, "scratches": Descratching, "grain": Degraining}
"""Each step's class: made afresh for each stream, its ``run`` takes and gives ``(index, image)``."""
FOLLOW_FLOW = ("dust", "grain")
"""The steps that take a ``PairFlows`` (``flows=``) to share."""
RESTORED_AHEAD = 2
"""Frames the restoration thread may have ready ahead of the caller."""
