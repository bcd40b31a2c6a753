"""Deploy checks that stand in for the Django ones our CSRF middleware hides.

Django's security.W003 and W016 look for django.middleware.csrf by its exact
path; we install a subclass (redress/csrf.py), so W003 is silenced in
settings and this module checks the same two things for our class.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string


@register(Tags.security, deploy=True)
def check_csrf(app_configs: Any, **kwargs: Any) -> list[Warning]:
    installed = [m for m in settings.MIDDLEWARE if issubclass(import_string(m), CsrfViewMiddleware)]
    if not installed:
        return [Warning("No CSRF middleware is installed.", id="redress.W001")]
    if not settings.CSRF_COOKIE_SECURE:
        return [Warning("CSRF_COOKIE_SECURE is off: the CSRF cookie would travel over plain HTTP.", id="redress.W002")]
    return []
