from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.authtoken.views import ObtainAuthToken


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the load balancer: the process answers and the database does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


obtain_token = ObtainAuthToken.as_view()
