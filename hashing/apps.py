from django.apps import AppConfig


class HashingConfig(AppConfig):
    name = "hashing"
    label = "hashing"
    verbose_name = "Hashing"
