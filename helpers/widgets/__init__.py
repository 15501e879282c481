"""What the notebooks show: wipe sliders, the colourisation explorer, the upload box, players and a frame scrubber.

Introduced in notebook 02_photo (``photo``) and notebooks 03 to 05 (``video``). Each widget shows
JPEG bytes in a ``widgets.Image``: moving a slider re-encodes one small picture instead of
redrawing a matplotlib figure, which keeps them quick on a laptop and on Binder.
"""

from .photo import ColorizeExplorer, UploadColorizer, WipeSlider, uploaded_files
from .video import FrameScrubber, WipeScrubber, player, video_grid

__all__ = ["ColorizeExplorer", "FrameScrubber", "UploadColorizer", "WipeScrubber", "WipeSlider", "player",
           "uploaded_files", "video_grid"]
