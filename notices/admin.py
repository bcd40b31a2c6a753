from django.contrib import admin

from .models import Platform


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin[Platform]):
    list_display = ["name", "slug", "jurisdiction", "stopncii_partner", "as_of"]
    search_fields = ["name", "slug"]
