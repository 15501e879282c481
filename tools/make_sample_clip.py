"""Build ``input_video/sample_clip.mp4``, the sample video of notebook 03_video, from the sample photos.

Three shots of the public-domain / CC0 photos in ``input_images/`` (see its SOURCES.md), with
camera moves made in NumPy/OpenCV and two hard cuts:

1. a slow pan across the rocket launch pad (3 s),
2. a zoom into the coffee cup (2.5 s),
3. a gentle push in on Chelsea the cat, fading to black (1.5 s).

The sound track is generated here too: a short melody of sine tones, one phrase per shot.
Nothing is random, so running it again gives the same pictures and sound.

Command line (from the repository root)::

    python -m tools.make_sample_clip
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from helpers.common.files import atomic_path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "input_video" / "sample_clip.mp4"
SIZE = (480, 320)  # width, height: 3:2 like most of the photos, even and a multiple of 16 for H.264
FPS = 24
FADE_FRAMES = 12  # the last half second fades to black
SAMPLE_RATE = 44100

# (photo, frames, start and end of the camera: centre x, centre y in the photo's pixels and the
# width of the photo's window that fills the frame)
SHOTS = [
    ("rocket_launch.jpg", 72, (270, 213, 540), (370, 213, 540)),  # pan right, 1.2 px per frame
    ("coffee.jpg", 60, (300, 200, 600), (285, 160, 380)),  # zoom 1.6x into the cup
    ("chelsea_cat.jpg", 36, (225, 150, 450), (250, 135, 400)),  # push in on the face
]
CUT_FRAMES = [sum(count for _, count, _, _ in SHOTS[:i]) for i in range(1, len(SHOTS))]
"""Indices (0-based) of the first frame of each new shot: [72, 132]."""
# One phrase per shot, as long as the shot: (MIDI note, beats) at 120 beats per minute.
MELODY = [
    [(69, 1), (72, 1), (76, 1), (74, 1), (72, 1), (76, 1)],  # A C E D C E   (shot 1, 3 s)
    [(77, 1), (76, 1), (74, 1), (72, 2)],  # F E D C-     (shot 2, 2.5 s)
    [(71, 1), (69, 2)],  # B A-         (shot 3, 1.5 s)
]
BASS = [57, 53, 57]  # A, F, A an octave below: one held note per shot
BEAT_S = 0.5


def ease(t: float) -> float:
    """0..1 -> 0..1 with a gentle start and stop (smoothstep), like a camera operator's move."""
    return t * t * (3 - 2 * t)


def camera(photo: np.ndarray, cx: float, cy: float, window_width: float) -> np.ndarray:
    """The ``SIZE`` frame showing a ``window_width``-wide window of ``photo`` centred on (cx, cy).

    Sub-pixel positions are interpolated, so slow moves glide instead of jumping whole pixels.
    """
    scale = SIZE[0] / window_width
    matrix = np.float32([[scale, 0, SIZE[0] / 2 - scale * cx], [0, scale, SIZE[1] / 2 - scale * cy]])
    if scale < 1:  # shrinking: blur first so fine texture does not shimmer (anti-aliasing)
        photo = cv2.GaussianBlur(photo, (0, 0), 0.5 / scale)
    return cv2.warpAffine(photo, matrix, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def frames() -> list[np.ndarray]:
    """Every frame of the clip, ``(320, 480)`` uint8 gray."""
    out = []
    for name, count, start, end in SHOTS:
        photo = cv2.imread(str(REPO_ROOT / "input_images" / name), cv2.IMREAD_GRAYSCALE)
        if photo is None:
            raise FileNotFoundError(f"Sample photo {name} is missing from input_images/.")
        for i in range(count):
            t = ease(i / (count - 1))
            out.append(camera(photo, *(a + t * (b - a) for a, b in zip(start, end))))
    for k in range(FADE_FRAMES):
        out[-FADE_FRAMES + k] = (out[-FADE_FRAMES + k] * (1 - (k + 1) / FADE_FRAMES)).round().astype(np.uint8)
    return out


def tone(midi: int, seconds: float, *, decay_s: float = 0.4) -> np.ndarray:
    """A soft, bell-like note: a sine with two quieter overtones, 10 ms attack and an exponential decay."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f = 440.0 * 2 ** ((midi - 69) / 12)
    wave_ = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) + 0.1 * np.sin(6 * np.pi * f * t)
    envelope = np.minimum(t / 0.01, 1) * np.exp(-t / decay_s)
    release = round(0.005 * SAMPLE_RATE)  # 5 ms to silence: no click where the next note starts
    envelope[-release:] *= np.linspace(1, 0, release)
    return wave_ * envelope


def soundtrack() -> np.ndarray:
    """The whole sound track, as long as the video: ``(n,)`` int16, mono, ``SAMPLE_RATE`` Hz."""
    shot_starts = [0, *CUT_FRAMES, sum(count for _, count, _, _ in SHOTS)]
    audio = np.zeros(round(shot_starts[-1] / FPS * SAMPLE_RATE))
    for phrase, bass, first, end in zip(MELODY, BASS, shot_starts, shot_starts[1:]):
        start = first / FPS  # each phrase starts with its shot, so the music changes at the cut
        held = tone(bass, (end - first) / FPS, decay_s=1.5)
        i = round(start * SAMPLE_RATE)
        audio[i:i + held.size] += 0.5 * held
        for midi, beats in phrase:
            note = tone(midi, beats * BEAT_S)
            i = round(start * SAMPLE_RATE)
            audio[i:i + note.size] += note[:audio.size - i]
            start += beats * BEAT_S
    fade = round(FADE_FRAMES / FPS * SAMPLE_RATE)
    audio[-fade:] *= np.linspace(1, 0, fade)
    audio *= 0.5 / np.abs(audio).max()  # peak at half of full scale (-6 dBFS): comfortable, never clips
    return (audio * 32767).round().astype(np.int16)


def write_clip(path: Path, video: list[np.ndarray], audio: np.ndarray) -> None:
    """H.264 (yuv420p, plays in browsers) with AAC sound, written with PyAV to a temporary file, then renamed."""
    with atomic_path(path) as part, av.open(str(part), "w", format="mp4",
                                            options={"movflags": "+faststart"}) as out:
        # CRF 24 and "slow": small file, no visible blocking
        picture = out.add_stream("libx264", rate=FPS, options={"crf": "24", "preset": "slow"})
        picture.width, picture.height = SIZE
        picture.pix_fmt = "yuv420p"
        sound = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        sound.bit_rate = 64000
        for i, frame in enumerate(video):
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="gray")
            image.pts = i
            out.mux(picture.encode(image))
        out.mux(picture.encode(None))
        step = 1024  # AAC's frame size
        for first in range(0, audio.size, step):
            samples = audio[np.newaxis, first:first + step]
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = SAMPLE_RATE, first
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))


def main() -> None:
    video = frames()
    write_clip(OUT, video, soundtrack())
    print(f"Wrote {OUT.relative_to(REPO_ROOT)}: {len(video)} frames of {SIZE[0]}x{SIZE[1]} at {FPS} fps "
          f"({len(video) / FPS:.2f} s), {OUT.stat().st_size / 1e6:.2f} MB")
    print(f"Hard cuts at frames {CUT_FRAMES} (0-based), i.e. at {[f / FPS for f in CUT_FRAMES]} s")


if __name__ == "__main__":
    main()
