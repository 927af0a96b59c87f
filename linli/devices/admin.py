"""Admin for devices: view-only. Registration, credentials and ranges change through the audited
services (console and API); the admin never shows a device's secret."""

from __future__ import annotations

from django.contrib import admin

from linli.devices.models import Device, DeviceProfile, RejectedMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only: writes bypassing the services would skip validation, cache invalidation and audit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeviceProfile)
class DeviceProfileAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "device_type", "offline_after_minutes", "health_sensitive", "builtin")
    list_filter = ("device_type", "health_sensitive", "builtin")
    search_fields = ("key", "name")


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = (
        "key",
        "name",
        "estate",
        "building",
        "floor",
        "profile",
        "status",
        "online",
        "last_seen_at",
    )
    list_filter = ("status", "online", "profile__device_type")
    list_select_related = ("estate", "building", "profile")
    search_fields = ("key", "name", "location", "vendor_id")
    exclude = ("secret",)


@admin.register(RejectedMessage)
class RejectedMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "reason", "topic", "device")
    list_filter = ("reason",)
    list_select_related = ("device",)
    search_fields = ("topic",)
