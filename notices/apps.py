from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Notices"

    def ready(self) -> None:
        from . import catalogue, directory

        # Fail at start-up, not when a survivor needs a notice.
        catalogue.load_catalogue()
        post_migrate.connect(directory.sync_after_migrate, sender=self)
