"""PyAV's API differences between the versions this project supports, in one place.

PyAV changes its API between major versions, and which version you get depends on your Python:
17.1 is the newest for Python 3.10, 18.1 needs 3.11, 19.0 needs 3.12. Rather than version checks
scattered over the code, every rational number that comes out of PyAV goes through ``fraction``,
every file opened for reading through ``open_input``, and the field order through ``field_order``.

What differs (checked against the installed wheels, 2026-09):

* Rational numbers (``time_base``, ``average_rate``, ``base_rate``, ``guessed_rate``,
  ``sample_aspect_ratio``, ``framerate``... of streams, codec contexts, packets and frames):
  PyAV 17.1 and 18.1 give a ``fractions.Fraction``, or ``None`` when FFmpeg's value is unknown
  or zero (``0/1``, ``0/0``). PyAV 19 gives an ``av.AVRational``, never ``None``: unknown is a
  falsy ``0/1``, and ``0/0`` and ``1/0`` exist (falsy too). ``float()`` and arithmetic work on
  it; ``int()``, ``round()``, ``limit_denominator()`` and ``isinstance(x, Fraction)`` do not.
  ``Fraction(x)`` works (it is registered as a ``numbers.Rational``), but turns ``0/0`` and
  ``1/0`` into a ``Fraction`` with denominator 0 that breaks later: hence ``fraction``.
* ``av.open(metadata_errors=...)``: up to PyAV 18 the default "strict" makes a tag that is not
  UTF-8 stop the open; PyAV 19 removed the argument (TypeError) and reads tags as UTF-8 with
  ``surrogateescape``, which never fails: hence ``open_input``.
* ``CodecContext.field_order`` exists from PyAV 18.1 (17.1 has none): hence ``field_order``.
* Also removed in PyAV 19, and unused here: ``av.open(stream_options=, metadata_encoding=)``,
  ``CodecContext.hwaccel``; and a closed output container's streams can no longer be read
  ("Container is not open").

Used by ``helpers.media.probe`` and ``helpers.media.sound`` (notebook 03_video).
"""

from __future__ import annotations

import os
from fractions import Fraction
from numbers import Rational
from typing import TYPE_CHECKING

import av

if TYPE_CHECKING:
    from av import AVRational  # PyAV >= 18.1
    from av.codec.context import CodecContext
    from av.container import InputContainer


def fraction(value: Rational | AVRational | None) -> Fraction | None:
    """A rational number from PyAV as a ``Fraction``, or ``None`` when it is unknown.

    Parameters
    ----------
    value : Fraction, av.AVRational, int or None
        What PyAV gives for ``stream.time_base``, ``stream.average_rate``,
        ``stream.sample_aspect_ratio``, ``frame.time_base``...: a ``Fraction`` or ``None``
        up to PyAV 18, an ``av.AVRational`` from PyAV 19.

    Returns
    -------
    Fraction or None
        ``None`` for ``None`` and for every value with a zero numerator or denominator
        (``0/1``, ``0/0``, ``1/0``): what FFmpeg means by "unknown", and what PyAV up to 18
        reported as ``None``. The same answer, whichever PyAV.

    Raises
    ------
    TypeError
        ``value`` is not a rational number (a float is not exact: convert it yourself).

    Notes
    -----
    Reads ``numerator`` and ``denominator`` rather than calling ``Fraction(value)``, which
    turns PyAV 19's ``AVRational(0, 0)`` into a ``Fraction`` with denominator 0.
    """
    if value is None:
        return None
    try:
        numerator, denominator = int(value.numerator), int(value.denominator)
    except AttributeError:  # a float has no numerator: it is not exact
        raise TypeError(f"Expected a rational number from PyAV (Fraction or av.AVRational), got {value!r}.") from None
    if numerator == 0 or denominator == 0:
        return None
    return Fraction(numerator, denominator)


def open_input(path: str | os.PathLike) -> InputContainer:
    """``av.open(path)`` for reading, whose metadata (title, comments...) never stops the open.

    Parameters
    ----------
    path : path
        The file to read.

    Returns
    -------
    av.container.InputContainer
        Close it (``with``) when done.

    Raises
    ------
    av.FFmpegError
        FFmpeg cannot open the file (missing, not a media file, damaged).

    Notes
    -----
    Old digitised footage often carries tags in a legacy encoding (Latin-1, CP1251). Up to
    PyAV 18, ``av.open`` decodes them as UTF-8 strictly by default and raises on such a tag,
    so it is asked to drop the bad bytes (``metadata_errors="ignore"``); PyAV 19 removed that
    argument and always reads tags with ``surrogateescape``, which never raises.
    """
    options = {"metadata_errors": "ignore"} if hasattr(av.container.InputContainer, "metadata_errors") else {}
    return av.open(os.fspath(path), **options)


def field_order(codec_context: CodecContext) -> int:
    """FFmpeg's field order of a video decoder (``AVFieldOrder``), 0 where PyAV does not say.

    Parameters
    ----------
    codec_context : av.video.codeccontext.VideoCodecContext
        ``stream.codec_context`` of an open input video stream.

    Returns
    -------
    int
        0 unknown, 1 progressive, 2-5 interlaced (top or bottom field first, coded and
        displayed in either order).

    Notes
    -----
    PyAV exposes ``field_order`` from 18.1; with 17.1 this is 0 (unknown), so interlacing is
    then told only by the frames' own ``interlaced_frame`` flag.
    """
    return int(getattr(codec_context, "field_order", 0) or 0)
