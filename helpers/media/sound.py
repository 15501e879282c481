"""The sound of a colourised video: the source's own, copied as it is or re-encoded, cut to the picture.

The network colours only the picture, so the sound comes straight from the source file: every
sound stream is copied packet by packet when the output container can hold its codec for
browsers (``BROWSER_AUDIO`` in MP4), else decoded and re-encoded to AAC. Only the sound that
goes with the written frames is kept: from the first frame's time to the picture's end, so a
preview of a few frames gets a few frames' worth of sound, in sync.

Used by ``helpers.media.encode.write_video``. Introduced in notebook 03_video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .av_compat import fraction, open_input

BROWSER_AUDIO = {"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"}
"""Sound codecs copied as they are into MP4; others (PCM, MP2, Vorbis...) are re-encoded to AAC."""
AAC_RATES = {7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
"""Sample rates the AAC encoder takes (ISO 14496-3); sound at any other rate is resampled to 48 kHz."""


def aac_layout(stream) -> str:
    """The channel layout a sound stream gets when it is re-encoded to AAC: "mono" or "stereo".

    Mono stays mono; two channels or more become stereo (more are mixed down: every browser plays
    stereo). Only the channel count is read, because tape-capture files often store PCM without a
    channel layout (FFmpeg calls it "2 channels"), which the AAC encoder refuses.
    """
    return "mono" if len(stream.layout.channels) == 1 else "stereo"


@dataclass
class Written:
    """What ``write_video`` did with the sound (``Soundtrack.finish``)."""

    notes: list[str] = field(default_factory=list)
    audio_ends: list[float] = field(default_factory=list)
    """Seconds of sound written per output sound stream."""
    audio_cut: bool = False
    """Some sound went on after the picture's end and was cut."""



class Soundtrack:
    """The sound streams of ``source``, copied or re-encoded into ``output`` and cut to [start, end) seconds.

    ``output`` is an open PyAV output container. Call ``until`` as the picture advances, so
    sound and picture packets interleave, then ``finish`` once with the picture's end.
    """

    def __init__(self, source: Path, output, start: float, end: float) -> None:
        self.notes: list[str] = []
        self.start, self.end = start, end
        self.input = open_input(source)
        self.streams = {}  # input stream index -> (output stream, resampler or None for copy)
        copyable = BROWSER_AUDIO if output.format.name == "mp4" else output.supported_codecs
        for stream in self.input.streams.audio:
            name = stream.codec_context.codec.canonical_name
            try:
                if name in copyable:
                    self.streams[stream.index] = (output.add_stream_from_template(stream), None)
                else:
                    layout = aac_layout(stream)
                    rate = stream.codec_context.sample_rate
                    rate = rate if rate in AAC_RATES else 48000  # e.g. 192 kHz studio captures: resampled
                    out = output.add_stream("aac", rate=rate, layout=layout)
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                    self.streams[stream.index] = (out, resampler)
                    self.notes.append(f"sound stream {stream.index} ({name}) re-encoded to AAC: "
                                      f"{output.format.name.upper()} cannot hold {name} for browsers")
            except (av.FFmpegError, ValueError) as exc:
                self.notes.append(f"sound stream {stream.index} ({name}) could not be kept: {exc}")
        self.failed: set[int] = set()
        self.more_after_end = False
        self.ends = {index: 0.0 for index in self.streams}  # seconds of sound written per stream
        inputs = [s for s in self.input.streams.audio if s.index in self.streams]
        self._packets = self.input.demux(*inputs) if inputs else iter(())
        self._next = None

    def _pull(self):
        while self._next is None:
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            except av.FFmpegError as exc:
                self.notes.append(f"sound could not be read past this point ({exc}); the rest is silent")
                self._packets = iter(())
                return None
            if packet.stream.index in self.failed or packet.size == 0:
                continue
            self._next = packet
        return self._next

    def until(self, seconds: float, output) -> None:
        """Mux every sound packet that starts before ``seconds`` (source time)."""
        while (packet := self._pull()) is not None:
            pts = packet.pts if packet.pts is not None else packet.dts
            time_base = fraction(packet.time_base)
            when = float(pts * time_base) if pts is not None else None
            if when is not None and when >= min(seconds, self.end):
                self.more_after_end |= when >= self.end
                return
            self._next = None
            if when is None or when + float((packet.duration or 0) * time_base) < self.start:
                continue  # before the first frame (a priming packet ending at the start is kept)
            self._mux(packet, output)

    def _mux(self, packet, output) -> None:
        index = packet.stream.index
        out, resampler = self.streams[index]
        time_base = fraction(packet.time_base)
        shift = round(self.start / time_base)
        if resampler is None:
            packet.pts = packet.pts - shift if packet.pts is not None else None
            packet.dts = packet.dts - shift if packet.dts is not None else None
            if packet.pts is not None:
                self.ends[index] = float((packet.pts + (packet.duration or 0)) * time_base)
            packet.stream = out
            output.mux(packet)
            return
        try:
            for frame in packet.decode():
                for piece in resampler.resample(frame):
                    piece = self._trim(piece, out.codec_context.sample_rate)
                    if piece is not None:
                        self.ends[index] = float(piece.time) + piece.samples / piece.sample_rate
                        output.mux(out.encode(piece))
        except av.FFmpegError as exc:
            self.failed.add(index)
            self.notes.append(f"sound stream {index} could not be decoded at {float(packet.pts * time_base):.2f}"
                              f" s ({exc}); it stops there")

    def _trim(self, frame: av.AudioFrame, rate: int) -> av.AudioFrame | None:
        """The part of ``frame`` inside [start, end), with its time in samples from ``start``."""
        first = round((float(frame.time) - self.start) * rate) if frame.pts is not None else None
        if first is None:
            return None
        last = frame.samples if math.isinf(self.end) else round((self.end - self.start) * rate) - first
        cut_start, cut_end = max(0, -first), min(frame.samples, last)
        if cut_end <= cut_start:
            return None
        if (cut_start, cut_end) != (0, frame.samples):
            samples = frame.to_ndarray()[:, cut_start:cut_end]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format=frame.format.name,
                                               layout=frame.layout.name)
            frame.sample_rate = rate
        frame.pts, frame.time_base = first + cut_start, Fraction(1, rate)
        return frame

    def finish(self, output, end: float) -> Written:
        """Mux the rest of the sound up to ``end`` seconds (source time), close the source; what was written."""
        self.end = end
        self.until(math.inf, output)
        for index, (out, resampler) in self.streams.items():
            if resampler is not None and index not in self.failed:
                output.mux(out.encode(None))
        self.input.close()
        return Written(self.notes, [end for index, end in sorted(self.ends.items())
                                    if index not in self.failed or end > 0], self.more_after_end)
