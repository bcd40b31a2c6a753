"""Finding the media on a fetched page: the candidates a content match examines.

A reported URL is usually a page (a post, a video page, a gallery), not the
image itself. The media a platform shows for a page is named in a few
predictable places, which this module collects in the order they are most
likely to be the content rather than decoration: the page's own preview
(`og:image`, `twitter:image`, `<link rel="image_src">`), then video posters and
sources, then `<img>` and `<picture>` in document order.

Parsing uses the standard library's `html.parser`: it never fetches, runs
nothing, tolerates broken markup, and adds no dependency. The caller caps the
bytes parsed (a page is read only up to a cap), so a hostile page can only
cost a bounded amount of work. No Django here: pure and testable alone.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Raw entries remembered per page. The page's bytes are capped already; this
# also bounds the work when a capped page is nothing but tiny tags.
MAX_RAW = 200_000
_MAX_URL = 2048


class Kind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class Candidate:
    """One piece of media a page names: where to fetch it and where on the page it was named."""

    url: str
    kind: Kind
    source: str  # e.g. "og:image", "img", "video poster"


# Lower sorts first: the page's declared preview is usually the content itself.
_PRIORITY = {"meta": 0, "video": 1, "img": 2}

_META_IMAGES = frozenset({"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"})
_META_VIDEOS = frozenset({"og:video", "og:video:url", "og:video:secure_url"})
# Lazy-loading scripts keep the real address here until the image scrolls into view.
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original")


def media_type(content_type: str) -> str:
    """The bare media type of a Content-Type header, lower case: "text/html; charset=x" -> "text/html"."""
    return content_type.split(";", 1)[0].strip().lower()


def kind_of(content_type: str) -> Kind | None:
    """Whether a response is itself media to hash (image or video), from its Content-Type."""
    main = media_type(content_type).split("/", 1)[0]
    if main == "image":
        return Kind.IMAGE
    if main == "video":
        return Kind.VIDEO
    return None


def is_html(content_type: str) -> bool:
    return media_type(content_type) in HTML_TYPES


@dataclass
class PageCandidates:
    """What a page names: the distinct candidates in examination order, and how many there were."""

    candidates: list[Candidate]
    found: int  # distinct candidates named, which may exceed len(candidates)


def find_candidates(body: bytes, content_type: str, page_url: str, *, keep: int) -> PageCandidates:
    """The first `keep` distinct media candidates named by an HTML page, best first, and how many there were.

    1. Decode with the charset the server declared (UTF-8 if none or unknown);
       undecodable bytes become U+FFFD rather than stopping the parse.
    2. Parse, collecting candidates and the first `<base href>`.
    3. Resolve each against the base (itself resolved against the page's final
       URL); keep http(s) only (no data:, blob:, javascript:), drop fragments.
    4. Count distinct URLs, keeping the first place each was named; order by
       priority (page preview, video, images), document order within each,
       and keep the first `keep`. Only digests of the others are held, so a
       page of 100,000 tiny tags costs little memory.
    """
    parser = _CandidateParser()
    parser.feed(body.decode(_charset(content_type), errors="replace"))
    parser.close()
    base = urljoin(page_url, parser.base_href) if parser.base_href else page_url
    seen: set[bytes] = set()
    kept: dict[int, list[Candidate]] = {priority: [] for priority in _PRIORITY.values()}
    for group, kind, source, raw in parser.raw:
        url = _resolve(base, raw)
        if url is None:
            continue
        digest = hashlib.blake2b(url.encode(), digest_size=16).digest()
        if digest in seen:
            continue
        seen.add(digest)
        bucket = kept[_PRIORITY[group]]
        if len(bucket) < keep:
            bucket.append(Candidate(url=url, kind=kind, source=source))
    ordered = [c for priority in sorted(kept) for c in kept[priority]]
    return PageCandidates(candidates=ordered[:keep], found=len(seen))


def _charset(content_type: str) -> str:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _resolve(base: str, raw: str) -> str | None:
    text = raw.strip()
    if not text or len(text) > _MAX_URL:
        return None
    try:
        url = urldefrag(urljoin(base, text)).url
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    return url if scheme in ("http", "https") else None


class _CandidateParser(HTMLParser):
    """Collects (group, kind, source, raw URL) tuples; resolution happens afterwards."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.raw: list[tuple[str, Kind, str, str]] = []
        self.base_href: str | None = None
        self._in_video = 0
        self._in_picture = 0
        self._in_audio = 0

    def _add(self, group: str, kind: Kind, source: str, value: str | None) -> None:
        if value and len(self.raw) < MAX_RAW:
            self.raw.append((group, kind, source, value))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value for name, value in attrs if value is not None}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").strip().lower()
            if key in _META_IMAGES:
                self._add("meta", Kind.IMAGE, key, a.get("content"))
            elif key in _META_VIDEOS:
                self._add("meta", Kind.VIDEO, key, a.get("content"))
        elif tag == "link" and "image_src" in (a.get("rel") or "").lower().split():
            self._add("meta", Kind.IMAGE, "link image_src", a.get("href"))
        elif tag == "base" and self.base_href is None and a.get("href"):
            self.base_href = a["href"]
        elif tag == "img":
            self._add("img", Kind.IMAGE, "img", a.get("src"))
            self._add("img", Kind.IMAGE, "img srcset", largest_in_srcset(a.get("srcset", "")))
            for name in _LAZY_SRC:
                self._add("img", Kind.IMAGE, f"img {name}", a.get(name))
        elif tag == "video":
            self._in_video += 1
            self._add("video", Kind.IMAGE, "video poster", a.get("poster"))
            self._add("video", Kind.VIDEO, "video", a.get("src"))
        elif tag == "picture":
            self._in_picture += 1
        elif tag == "audio":
            self._in_audio += 1
        elif tag == "source":
            if self._in_video and not self._in_audio:
                self._add("video", Kind.VIDEO, "video source", a.get("src"))
            elif self._in_picture:
                self._add("img", Kind.IMAGE, "picture source", largest_in_srcset(a.get("srcset", "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        # A self-closed <video/> opens nothing.
        if tag in ("video", "picture", "audio"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "video":
            self._in_video = max(self._in_video - 1, 0)
        elif tag == "picture":
            self._in_picture = max(self._in_picture - 1, 0)
        elif tag == "audio":
            self._in_audio = max(self._in_audio - 1, 0)


_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$", re.IGNORECASE)


def largest_in_srcset(srcset: str) -> str | None:
    """The URL of the largest entry of a srcset ("a.jpg 480w, b.jpg 1080w" -> "b.jpg").

    One entry is enough, since every entry is the same picture; the largest
    hashes most faithfully. Follows the HTML parsing rule that a URL runs to
    the next whitespace, so URLs containing commas survive.
    """
    best: tuple[float, str] | None = None
    position, length = 0, len(srcset)
    while position < length:
        while position < length and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        start = position
        while position < length and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start = position
            while position < length and srcset[position] != ",":
                position += 1
            descriptor = srcset[start:position].strip()
        if not url:
            continue
        match = _DESCRIPTOR.match(descriptor)
        size = float(match.group(1)) if match else 1.0
        if best is None or size > best[0]:
            best = (size, url)
    return best[1] if best else None
