"""API-wide behaviour: errors always come back as JSON with a clear message."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cases.errors import CaseError
from cases.services import PermissionDenied


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Domain errors are the user's to fix: 400 with the message, never a 500.
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, CaseError):
        return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
