"""The photo pipeline: the colourisation recipe, one image file colourised, before/after pictures.

Introduced in notebook 02_photo (``colorize`` is the recipe, one line a step).
"""
