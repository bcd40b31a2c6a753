from django.apps import AppConfig


class RedressConfig(AppConfig):
    name = "redress"
    verbose_name = "Redress"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)
