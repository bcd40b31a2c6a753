from django.apps import AppConfig


class RedressConfig(AppConfig):
    name = "redress"
    verbose_name = "Redress"
