"""Old film and photos repaired before colouring: flicker, dust, scratches, grain, and the frame rate.

Introduced in notebook 05_restoration. ``steps`` chains the video steps by name
(``python -m helpers video --restore``); ``photo_restore`` does one photo (``photo --restore``).
"""

from .steps import RESTORE_CONTEXT, RESTORE_STEPS, STEPS, check_steps, restored, restored_images

__all__ = ["RESTORE_CONTEXT", "RESTORE_STEPS", "STEPS", "check_steps", "restored", "restored_images"]
