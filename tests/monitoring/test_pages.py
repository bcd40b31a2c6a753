"""Finding candidate media on a page: which tags count, in what order, resolved how."""

from __future__ import annotations

import pytest

from monitoring.pages import Kind, find_candidates, is_html, kind_of, largest_in_srcset

PAGE = "https://site.example/posts/42/view"


def _find(html: str, keep: int = 50, content_type: str = "text/html") -> list[tuple[str, str, str]]:
    found = find_candidates(html.encode(), content_type, PAGE, keep=keep)
    return [(c.url, str(c.kind), c.source) for c in found.candidates]


def test_the_page_preview_comes_before_images_in_document_order() -> None:
    html = """<html><body>
      <img src="/thumbs/a.jpg">
      <video poster="poster.jpg"><source src="clip.mp4" type="video/mp4"></video>
      <meta property="og:image" content="https://cdn.example/full.jpg">
      <meta name="twitter:image" content="/tw.jpg">
    </body></html>"""
    assert _find(html) == [
        ("https://cdn.example/full.jpg", "image", "og:image"),
        ("https://site.example/tw.jpg", "image", "twitter:image"),
        ("https://site.example/posts/42/poster.jpg", "image", "video poster"),
        ("https://site.example/posts/42/clip.mp4", "video", "video source"),
        ("https://site.example/thumbs/a.jpg", "image", "img"),
    ]


def test_srcset_contributes_its_largest_entry() -> None:
    html = '<img src="small.jpg" srcset="small.jpg 320w, medium.jpg 640w, large.jpg 1280w">'
    assert [url for url, _k, _s in _find(html)] == [
        "https://site.example/posts/42/small.jpg",
        "https://site.example/posts/42/large.jpg",
    ]


@pytest.mark.parametrize(
    ("srcset", "largest"),
    [
        ("a.jpg 1x, b.jpg 2x", "b.jpg"),
        ("a.jpg 2x,b.jpg 1x", "a.jpg"),
        ("only.jpg", "only.jpg"),
        ("/img?x=1,2 480w, /img?x=3,4 960w", "/img?x=3,4"),
        ("", None),
        (" , , ", None),
    ],
)
def test_largest_in_srcset(srcset: str, largest: str | None) -> None:
    assert largest_in_srcset(srcset) == largest


def test_picture_sources_and_lazy_images_are_found() -> None:
    html = """<picture><source srcset="p.webp 1x, p2.webp 2x"><img src="p.jpg"></picture>
              <img data-src="/lazy.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">"""
    assert _find(html) == [
        ("https://site.example/posts/42/p2.webp", "image", "picture source"),
        ("https://site.example/posts/42/p.jpg", "image", "img"),
        ("https://site.example/lazy.jpg", "image", "img data-src"),
    ]


def test_audio_sources_are_not_media_to_match() -> None:
    assert _find('<video><audio><source src="a.mp3"></audio><source src="v.mp4"></video>') == [
        ("https://site.example/posts/42/v.mp4", "video", "video source")
    ]


def test_base_href_changes_resolution() -> None:
    html = '<head><base href="https://media.example/gallery/"></head><img src="one.jpg"><img src="/two.jpg">'
    assert [url for url, _k, _s in _find(html)] == [
        "https://media.example/gallery/one.jpg",
        "https://media.example/two.jpg",
    ]


def test_duplicates_fragments_and_non_web_schemes_are_dropped() -> None:
    html = """<img src="x.jpg"><img src="x.jpg#frag"><img src="./x.jpg">
              <img src="javascript:alert(1)"><img src="blob:abc"><img src="ftp://h/x.jpg"><img src="  ">
              <img src="http://[::1">"""
    found = find_candidates(html.encode(), "text/html", PAGE, keep=50)
    assert [c.url for c in found.candidates] == ["https://site.example/posts/42/x.jpg"]
    assert found.found == 1


def test_only_the_first_few_are_kept_but_all_are_counted() -> None:
    html = "".join(f'<img src="/i/{n}.jpg">' for n in range(10_000))
    found = find_candidates(html.encode(), "text/html", PAGE, keep=20)
    assert found.found == 10_000
    assert [c.url for c in found.candidates] == [f"https://site.example/i/{n}.jpg" for n in range(20)]


def test_a_late_preview_still_comes_first_when_images_fill_the_cap() -> None:
    html = "".join(f'<img src="/i/{n}.jpg">' for n in range(30)) + '<meta property="og:image" content="/og.jpg">'
    found = find_candidates(html.encode(), "text/html", PAGE, keep=5)
    assert found.candidates[0].url == "https://site.example/og.jpg"
    assert len(found.candidates) == 5
    assert found.found == 31


def test_the_declared_charset_is_used_and_bad_bytes_do_not_stop_the_parse() -> None:
    html = '<img src="/caf\xe9.jpg">'.encode("latin-1") + b"\xff\xfe" + b'<img src="/b.jpg">'
    found = find_candidates(html, "text/html; charset=ISO-8859-1", PAGE, keep=5)
    assert [c.url for c in found.candidates] == ["https://site.example/caf\xe9.jpg", "https://site.example/b.jpg"]
    broken = find_candidates(b'<img src="/a.jpg">\xff<img src="/b.jpg">', "text/html; charset=bogus", PAGE, keep=5)
    assert len(broken.candidates) == 2


def test_broken_markup_is_tolerated() -> None:
    html = '<div><img src="a.jpg" <img src=b.jpg><video poster=p.jpg><p>unclosed'
    urls = [url for url, _k, _s in _find(html)]
    assert "https://site.example/posts/42/p.jpg" in urls
    assert "https://site.example/posts/42/b.jpg" in urls or "https://site.example/posts/42/a.jpg" in urls


@pytest.mark.parametrize(
    ("content_type", "kind", "html"),
    [
        ("image/jpeg", Kind.IMAGE, False),
        ("IMAGE/PNG; q=1", Kind.IMAGE, False),
        ("video/mp4", Kind.VIDEO, False),
        ("text/html; charset=utf-8", None, True),
        ("application/xhtml+xml", None, True),
        ("text/plain", None, False),
        ("", None, False),
    ],
)
def test_content_types(content_type: str, kind: Kind | None, html: bool) -> None:
    assert kind_of(content_type) == kind
    assert is_html(content_type) is html
