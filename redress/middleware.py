"""Headers that keep a survivor's visit out of caches and other sites' logs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

# Static assets carry nothing personal and may be cached; every other page
# (cases, notices, the API) must not be kept by browsers or proxies.
_CACHEABLE_PREFIXES = ("/static/",)


class PrivacyHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(_CACHEABLE_PREFIXES):
            add_never_cache_headers(response)
        response.setdefault("Referrer-Policy", "no-referrer")
        return response
