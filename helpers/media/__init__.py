"""Video files in and out with PyAV, their sound, and the motion between frames.

Introduced in notebook 03_video: ``probe`` (what a video file is), ``decode`` (its frames, with
their times), ``encode`` (H.264 written at the source's times), ``sound``, ``video_check`` (the
output checked); ``motion`` and ``camera_motion`` (optical flow, notebooks 04 and 05).
"""
