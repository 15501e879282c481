"""Plumbing every room uses: safe files, images and image files, a worker thread, reused arrays, OpenCV's install.

Introduced in notebook 02_photo (images and image files). Nothing is imported here: ``helpers``
imports ``common.opencv_install`` before OpenCV, to explain a broken install.
"""
