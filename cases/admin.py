from django.contrib import admin
from django.http import HttpRequest

from .models import Case, Event, Membership, Organization, ReportedURL


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    # Survivor details are deliberately absent: staff read cases in the app,
    # where each read is audited.
    list_display = ["reference", "organization", "status", "minor_path", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["reference"]
    readonly_fields = ["reference", "created_at", "updated_at"]


@admin.register(ReportedURL)
class ReportedURLAdmin(admin.ModelAdmin[ReportedURL]):
    list_display = ["url", "case", "platform", "status"]
    list_filter = ["status", "platform"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["created_at", "action", "case_reference", "actor_label"]
    list_filter = ["action"]
    search_fields = ["case_reference"]

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
