"""The Lab lesson: the colour space, the network's 313 ab bins, the annealed-mean temperature, their pictures.

Introduced in notebook 01_lab_colour_space. ``temperature`` needs neither OpenCV nor NumPy.
"""
