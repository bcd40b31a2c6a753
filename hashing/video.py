"""Video hashes: PDQ of one frame per second (vPDQ-style), MD5 and SHA-256 of the file.

Pure Python + PyAV (FFmpeg): no Django, so the offline hasher can use it. The
video is streamed: digests are computed in fixed-size chunks and frames are
decoded one at a time, so a long video never sits in memory and nothing is
written to disk.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import BinaryIO, Protocol

import av
import av.error
import numpy as np
from PIL import Image

from .errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from .image import DEFAULT_MAX_PIXELS, PDQ_MATCH_THRESHOLD, PDQ_QUALITY_UNRELIABLE, pdq_of
from .index import hex_to_words

VIDEO_ALGORITHM_VERSIONS = {"vpdq": "1", "video_md5": "1", "video_sha256": "1"}

# Seconds between sampled frames (vPDQ's default), and the distance under
# which a sampled frame repeats the last kept one (a static shot adds nothing).
SECONDS_PER_SAMPLE = 1.0
DUPLICATE_DISTANCE = 4
VIDEO_MATCH_FRACTION = 0.8
_CHUNK = 1 << 20
_HEAD = 512
# Matroska/WebM, FLV, MPEG program stream, ASF/WMV.
_SIGNATURES = (b"\x1a\x45\xdf\xa3", b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75")
# A video whose frames stop this long before the duration its header declares
# was cut short (e.g. an interrupted download): reported, not hashed partially.
_TRUNCATION_SLACK_SECONDS = 1.0
_TRUNCATION_SLACK_FRACTION = 0.02

# FFmpeg also reads still images ("image2", "jpeg_pipe", …) and GIFs as
# one-stream "videos"; those belong to hash_image and its canonical decode.
_IMAGE_FORMATS = {"image2", "gif", "apng", "ico", "webp"}


@dataclass(frozen=True)
class VideoFrame:
    t: float  # presentation time in seconds from the start of the video
    pdq: str
    pdq_quality: int

    @property
    def pdq_reliable(self) -> bool:
        return self.pdq_quality >= PDQ_QUALITY_UNRELIABLE


@dataclass(frozen=True)
class VideoHashes:
    frames: tuple[VideoFrame, ...]
    md5: str
    sha256: str
    duration: float  # seconds, up to the end of the last decoded frame
    width: int  # as displayed, i.e. after the display rotation
    height: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class VideoMatch:
    matched: bool
    fraction_a: float  # share of a's reliable kept frames within the threshold of some frame of b
    fraction_b: float  # the same, from b's side


def hash_video(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    seconds_per_sample: float = SECONDS_PER_SAMPLE,
) -> VideoHashes:
    """Every hash Redress keeps for one video, from a path or a seekable binary file.

    A file object is read from its beginning, whatever its position.

    1. MD5 and SHA-256 of the bytes, read in 1 MiB chunks (a file object is
       then rewound for decoding).
    2. Open the container; refuse what is not a video with a readable frame
       size below `max_pixels`.
    3. Decode the first video stream frame by frame; take the first frame at
       or after each whole second (presentation time), turn it upright by
       the stream's display rotation (as a browser shows it) and hash it
       with PDQ exactly as an image is hashed (8-bit RGB, `pdq_of`).
    4. Drop a sampled frame within `DUPLICATE_DISTANCE` of the last kept
       one: a static scene is kept once, so it cannot dominate the match.
    5. Refuse a video whose frames end well before its declared duration
       (truncated), rather than matching on a part of it.
    """
    md5, sha256 = _digests(source)
    with _opened(source) as container:
        stream = _video_stream(container, max_pixels)
        frames, end, (width, height) = _sample(container, stream, seconds_per_sample)
        declared = _declared_duration(stream, container)
    if not frames:
        raise CorruptMedia("This video has no frame we could decode; the file may be damaged or incomplete.")
    if declared is not None and declared - end > max(_TRUNCATION_SLACK_SECONDS, declared * _TRUNCATION_SLACK_FRACTION):
        raise CorruptMedia(
            f"This video stops after {end:.1f} s of the {declared:.1f} s it should last: the file is damaged "
            "or incomplete (it may not have finished downloading)."
        )
    return VideoHashes(
        frames=tuple(frames),
        md5=md5,
        sha256=sha256,
        duration=round(end, 3),
        width=width,
        height=height,
    )


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def _digests(source: str | os.PathLike[str] | BinaryIO) -> tuple[str, str]:
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            size = _feed(file, md5, sha256)
    else:
        if not source.seekable():
            # Decoding needs a second pass (and MP4 demuxing seeks anyway);
            # buffering here would hold the whole video in memory.
            raise ValueError("hash_video needs a path or a seekable file object")
        source.seek(0)
        size = _feed(source, md5, sha256)
        source.seek(0)
    if not size:
        raise UnsupportedMedia("The file is empty.")
    return md5.hexdigest(), sha256.hexdigest()


def _feed(file: BinaryIO, *digests: _Digest) -> int:
    size = 0
    while chunk := file.read(_CHUNK):
        size += len(chunk)
        for digest in digests:
            digest.update(chunk)
    return size


@contextmanager
def _opened(source: str | os.PathLike[str] | BinaryIO) -> Iterator[av.container.InputContainer]:
    try:
        container = av.open(os.fspath(source) if isinstance(source, str | os.PathLike) else source, mode="r")
    except av.error.FFmpegError as exc:
        if _looks_like_video(_head(source)):
            raise CorruptMedia(
                "This video file is damaged or incomplete (it may not have finished downloading)."
            ) from exc
        raise UnsupportedMedia(
            "This file is not a video we can read (MP4, MOV, WebM, MKV, AVI, 3GP, MPEG-TS…)."
        ) from exc
    try:
        yield container
    finally:
        container.close()


def _head(source: str | os.PathLike[str] | BinaryIO) -> bytes:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            return file.read(_HEAD)
    source.seek(0)
    head = source.read(_HEAD)
    source.seek(0)
    return head


def _looks_like_video(head: bytes) -> bool:
    """Whether the first bytes are a video container's signature (so a failure to open is damage)."""
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")  # MP4, MOV, 3GP
        or head.startswith(_SIGNATURES)
        or (head.startswith(b"RIFF") and head[8:11] == b"AVI")
        or (len(head) > 188 and head[0] == head[188] == 0x47)  # MPEG-TS: a sync byte every 188 bytes
    )


def _video_stream(container: av.container.InputContainer, max_pixels: int) -> av.VideoStream:
    if not container.streams:
        # A container header and nothing after it: cut off very early.
        raise CorruptMedia("This video file is damaged or incomplete (it may not have finished downloading).")
    if container.format.name in _IMAGE_FORMATS or container.format.name.endswith("_pipe"):
        raise UnsupportedMedia("This is a still image, not a video: add it as a photo instead.")
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise UnsupportedMedia("This file has no video in it (it may be audio only).")
    stream = streams[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > max_pixels:
        raise MediaTooLarge(
            f"This video's frames are {width}x{height} pixels, more than the {max_pixels:,} we decode safely. "
            "Try a smaller copy of it."
        )
    # FFmpeg's own frame threading: the decode is the cost, not the hashing.
    stream.thread_type = "AUTO"
    return stream


def _sample(
    container: av.container.InputContainer, stream: av.VideoStream, seconds_per_sample: float
) -> tuple[list[VideoFrame], float, tuple[int, int]]:
    """Kept frames, the end time of the last decoded frame, and the displayed frame size."""
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
    rate = float(stream.average_rate or stream.guessed_rate or 30)
    kept: list[VideoFrame] = []
    last_words: np.ndarray | None = None
    due = 0.0
    end = 0.0
    size = (stream.codec_context.width, stream.codec_context.height)
    try:
        for number, frame in enumerate(container.decode(stream)):
            t = frame.time - origin if frame.time is not None else number / rate
            duration = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else 1 / rate
            end = max(end, t + duration)
            if t + 1e-6 < due:
                continue
            # The next sample is due at the next multiple of the period after
            # this frame, so a gap in the video never yields a burst of samples.
            due = (math.floor(t / seconds_per_sample + 1e-6) + 1) * seconds_per_sample
            upright = _upright(frame)
            size = upright.size
            pdq, quality = pdq_of(upright)
            words = hex_to_words([pdq], 256)[0]
            if last_words is not None and _hamming(words, last_words) <= DUPLICATE_DISTANCE:
                continue
            kept.append(VideoFrame(t=round(max(t, 0.0), 3), pdq=pdq, pdq_quality=quality))
            last_words = words
    except av.error.FFmpegError as exc:
        raise CorruptMedia("This video file is damaged or incomplete (it may not have finished downloading).") from exc
    return kept, end, size


def _upright(frame: av.VideoFrame) -> Image.Image:
    """The frame as 8-bit RGB, rotated as its display matrix says (phone videos are stored sideways)."""
    image = frame.to_image()
    rotation = frame.rotation % 360
    if rotation:
        # PyAV reports the counter-clockwise angle the display applies; PIL
        # rotates counter-clockwise too.
        image = image.rotate(rotation, expand=True)
    return image


def _declared_duration(stream: av.VideoStream, container: av.container.InputContainer) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.bitwise_count(a ^ b).sum())


def video_match(
    a: VideoHashes,
    b: VideoHashes,
    *,
    frame_threshold: int = PDQ_MATCH_THRESHOLD,
    min_fraction: float = VIDEO_MATCH_FRACTION,
    min_quality: int = PDQ_QUALITY_UNRELIABLE,
) -> VideoMatch:
    """The vPDQ rule: do two videos show the same content?

    A frame of one video matches when some frame of the other is within
    `frame_threshold` PDQ bits. The videos match when at least `min_fraction`
    of the shorter video's kept frames match: a clip cut from a longer video
    matches it, while the longer one's extra footage does not count against
    it. Frames with PDQ quality below `min_quality` (black frames, fades,
    flat title cards) are left out on both sides, as Meta's vPDQ does, since
    featureless frames of unrelated videos look alike. Videos of equal
    duration must both reach `min_fraction`.
    """
    a_words = _reliable_words(a, min_quality)
    b_words = _reliable_words(b, min_quality)
    if not len(a_words) or not len(b_words):
        return VideoMatch(matched=False, fraction_a=0.0, fraction_b=0.0)
    close = _pairwise(a_words, b_words) <= frame_threshold  # (a frames, b frames)
    fraction_a = float(close.any(axis=1).mean())
    fraction_b = float(close.any(axis=0).mean())
    if math.isclose(a.duration, b.duration, abs_tol=1e-3):
        fraction = min(fraction_a, fraction_b)
    else:
        fraction = fraction_a if a.duration < b.duration else fraction_b
    return VideoMatch(matched=fraction >= min_fraction, fraction_a=fraction_a, fraction_b=fraction_b)


def _reliable_words(video: VideoHashes, min_quality: int) -> np.ndarray:
    return hex_to_words((f.pdq for f in video.frames if f.pdq_quality >= min_quality), 256)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All frame-to-frame distances, one row of a at a time (an hour is 3,600 x 3,600)."""
    out = np.empty((len(a), len(b)), dtype=np.uint16)
    for row, words in enumerate(a):
        out[row] = np.bitwise_count(b ^ words).sum(axis=1)
    return out
