"""Video hashing: 1 fps PDQ sampling, the vPDQ match rule, streaming digests, typed errors."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from hashing import CorruptMedia, MediaTooLarge, UnsupportedMedia, VideoHashes, distance, hash_video, video_match
from hashing.image import pdq_of
from hashing.video import VideoFrame

CHAIR_22 = ("chair-orig-22-sd-bar", "chair-22-sd-grey-bar", "chair-22-with-small-logo-bar")
OTHERS = ("chair-19-sd-bar", "doorknob-hd-no-bar")


@pytest.fixture
def videos(vectors: Path) -> dict[str, VideoHashes]:
    return _hash_vectors(vectors / "video")


@functools.cache
def _hash_vectors(folder: Path) -> dict[str, VideoHashes]:
    """Decoding the five videos takes seconds: once per test run."""
    return {name: hash_video(folder / f"{name}.mp4") for name in CHAIR_22 + OTHERS}


def test_the_three_chair_22_variants_match_each_other(videos: dict[str, VideoHashes]) -> None:
    for i, a in enumerate(CHAIR_22):
        for b in CHAIR_22[i + 1 :]:
            result = video_match(videos[a], videos[b])
            assert result.matched, (a, b, result)
            # The figure for 1 fps PDQ sampling: 100% frame agreement.
            assert result.fraction_a == result.fraction_b == 1.0, (a, b, result)


def test_another_take_and_an_unrelated_video_match_none_of_them(videos: dict[str, VideoHashes]) -> None:
    for other in OTHERS:
        for chair in CHAIR_22:
            result = video_match(videos[other], videos[chair])
            assert not result.matched, (other, chair, result)
            assert not video_match(videos[chair], videos[other]).matched
            # The figures: at most 16% for chair-19, 0% for the doorknob.
            assert max(result.fraction_a, result.fraction_b) <= (0.16 if other.startswith("chair") else 0.0)


def test_one_frame_is_sampled_per_second_of_presentation_time(videos: dict[str, VideoHashes]) -> None:
    chair = videos["chair-orig-22-sd-bar"]
    assert chair.duration == pytest.approx(22.43, abs=0.01)
    assert (chair.width, chair.height) == (480, 720)
    # A moving scene keeps every sample: one per whole second, 0 s to 22 s.
    assert [frame.t for frame in chair.frames] == [float(s) for s in range(23)]
    assert all(len(frame.pdq) == 64 and 0 <= frame.pdq_quality <= 100 for frame in chair.frames)


def test_a_static_scene_is_kept_once() -> None:
    still = _scene(0)
    data = _encode([still] * 40 + [_scene(12)] * 20, fps=10)
    hashes = hash_video(io.BytesIO(data))
    # Six samples (0 s .. 5 s): four repeats of the first picture are dropped.
    assert [frame.t for frame in hashes.frames] == [0.0, 4.0]
    assert distance(hashes.frames[0].pdq, hashes.frames[1].pdq) > 4


def test_samples_follow_presentation_time_not_frame_count() -> None:
    # 4 fps: a frame count of 1 per second would take frames 0, 1, 2 (0.0, 0.25, 0.5 s).
    data = _encode([_scene(i) for i in range(12)], fps=4)
    assert [frame.t for frame in hash_video(io.BytesIO(data)).frames] == [0.0, 1.0, 2.0]


def test_a_file_object_and_a_path_give_the_same_hashes(vectors: Path) -> None:
    path = vectors / "video" / "doorknob-hd-no-bar.mp4"
    with path.open("rb") as file:
        from_file = hash_video(file)
    assert from_file == hash_video(path) == hash_video(str(path))
    assert from_file == hash_video(io.BytesIO(path.read_bytes()))


def test_md5_and_sha256_are_of_the_file_bytes(vectors: Path) -> None:
    path = vectors / "video" / "chair-19-sd-bar.mp4"
    hashes = hash_video(path)
    data = path.read_bytes()
    assert hashes.md5 == hashlib.md5(data).hexdigest()
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()


def test_it_streams_the_file_instead_of_reading_it_whole(vectors: Path) -> None:
    data = (vectors / "video" / "chair-19-sd-bar.mp4").read_bytes()
    file = _ReadRecorder(data)
    hashes = hash_video(file)
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert len(data) > 2 * 1024 * 1024
    assert max(file.requests) <= 1024 * 1024  # never one read of the whole 2 MB file


def test_a_portrait_phone_video_is_turned_upright_by_its_display_matrix() -> None:
    upright = [_scene(i, size=(192, 320)) for i in range(30)]
    stored_sideways = _encode([image.rotate(90, expand=True) for image in upright], fps=10)
    # What a phone writes: landscape pixels, a matrix that turns them 90 degrees clockwise.
    phone = _with_display_matrix(stored_sideways, (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000))
    hashes = hash_video(io.BytesIO(phone))
    assert (hashes.width, hashes.height) == (192, 320)
    # The same decoded pixels, turned upright by hand: hash_video must give exactly these.
    # (Comparing with a separately encoded upright video would add x264's run-to-run noise.)
    by_hand = [
        pdq_of(frame.to_image().rotate(-90, expand=True))[0] for frame in _frames_at_whole_seconds(stored_sideways)
    ]
    assert [f.pdq for f in hashes.frames] == by_hand[: len(hashes.frames)]
    assert len(hashes.frames) == 3
    expected = hash_video(io.BytesIO(_encode(upright, fps=10)))
    assert all(distance(a.pdq, b.pdq) <= 31 for a, b in zip(hashes.frames, expected.frames))
    # Without the matrix the same pixels hash as a different picture.
    sideways = hash_video(io.BytesIO(stored_sideways))
    assert distance(sideways.frames[0].pdq, expected.frames[0].pdq) > 31


def test_it_refuses_text_as_unsupported() -> None:
    with pytest.raises(UnsupportedMedia, match="not a video we can read"):
        hash_video(io.BytesIO(b"hello, this is not a video at all" * 20))


def test_it_refuses_an_empty_file() -> None:
    with pytest.raises(UnsupportedMedia, match="empty"):
        hash_video(io.BytesIO(b""))


def test_it_sends_a_still_image_to_the_image_path(vectors: Path) -> None:
    jpeg = (vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    with pytest.raises(UnsupportedMedia, match="still image"):
        hash_video(io.BytesIO(jpeg))


def test_it_refuses_audio_without_video() -> None:
    with pytest.raises(UnsupportedMedia, match="no video"):
        hash_video(io.BytesIO(_audio_only()))


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_it_reports_a_video_cut_short(vectors: Path, keep: float) -> None:
    data = (vectors / "video" / "chair-orig-22-sd-bar.mp4").read_bytes()
    with pytest.raises(CorruptMedia, match="damaged or incomplete"):
        hash_video(io.BytesIO(data[: int(len(data) * keep)]))


def test_it_reports_a_video_whose_header_is_cut_off(vectors: Path) -> None:
    data = (vectors / "video" / "chair-orig-22-sd-bar.mp4").read_bytes()
    for size in (100, 20_000):
        with pytest.raises(CorruptMedia, match="damaged or incomplete"):
            hash_video(io.BytesIO(data[:size]))


def test_it_refuses_frames_larger_than_the_pixel_limit(vectors: Path) -> None:
    with pytest.raises(MediaTooLarge, match="1280x720"):
        hash_video(vectors / "video" / "doorknob-hd-no-bar.mp4", max_pixels=480 * 720)


def test_it_refuses_a_file_it_cannot_rewind() -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

    with pytest.raises(ValueError, match="seekable"):
        hash_video(Pipe())  # type: ignore[arg-type]


def test_a_clip_matches_the_longer_video_it_was_cut_from(videos: dict[str, VideoHashes]) -> None:
    full = videos["chair-orig-22-sd-bar"]
    clip = VideoHashes(frames=full.frames[5:12], md5="", sha256="", duration=7.0, width=full.width, height=full.height)
    result = video_match(clip, full)
    assert result.matched and result.fraction_a == 1.0 and result.fraction_b < 0.8
    assert video_match(full, clip).matched


def test_featureless_frames_do_not_count_towards_a_match() -> None:
    black = VideoFrame(t=0.0, pdq="0" * 64, pdq_quality=0)
    a = VideoHashes(frames=(black,) * 3, md5="", sha256="", duration=3.0, width=1, height=1)
    b = VideoHashes(frames=(black,), md5="", sha256="", duration=1.0, width=1, height=1)
    assert video_match(a, b) == video_match(a, b)
    assert not video_match(a, b).matched
    assert video_match(a, b, min_quality=0).matched


def test_the_match_thresholds_are_inclusive() -> None:
    base = "0" * 64
    near = f"{(1 << 31) - 1:064x}"  # 31 bits set
    far = f"{(1 << 32) - 1:064x}"  # 32 bits set

    def video(*hashes: str) -> VideoHashes:
        frames = tuple(VideoFrame(t=float(i), pdq=h, pdq_quality=100) for i, h in enumerate(hashes))
        return VideoHashes(frames=frames, md5="", sha256="", duration=float(len(hashes)), width=1, height=1)

    assert video_match(video(base), video(near)).matched
    assert not video_match(video(base), video(far)).matched
    # 4 of 5 frames (exactly 80%) of the shorter video match.
    five = video(base, base, base, base, far)
    assert video_match(five, video(base, base, base, base, base, base)).matched
    assert not video_match(five, video(base, base, base, base, base, base), min_fraction=0.81).matched


class _ReadRecorder(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requests: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.requests.append(len(self.getbuffer()) if size is None or size < 0 else size)
        return super().read(size)


def _frames_at_whole_seconds(mp4: bytes) -> list[av.VideoFrame]:
    """The first frame at or after each whole second, as hash_video samples them."""
    frames, next_second = [], 0.0
    with av.open(io.BytesIO(mp4)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_second:
                frames.append(frame)
                next_second = float(int(frame.time) + 1)
    return frames


def _scene(step: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture with detail that changes with `step` (PDQ needs detail to be reliable)."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x * y // 7 + step * 40) % 256], axis=-1)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle([10 + step * 9, 30, 80 + step * 9, 110], fill=(240, 30, 30))
    draw.ellipse([width // 4, height // 2, width // 4 + 90, height // 2 + 80], fill=(20, 20, 200))
    return image


def _encode(images: list[Image.Image], fps: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = images[0].size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18"}
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_image(image)))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _with_display_matrix(mp4: bytes, matrix: tuple[int, ...]) -> bytes:
    """Set the video track's transformation matrix in its tkhd box (how phones record orientation)."""
    box = mp4.index(b"tkhd") - 4
    version = mp4[box + 8]
    # size, type, version/flags, times and track id, reserved, layer/group/volume/reserved
    matrix_at = box + 8 + 4 + (32 if version == 1 else 20) + 8 + 8
    return mp4[:matrix_at] + struct.pack(">9i", *matrix) + mp4[matrix_at + 36 :]


def _audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
