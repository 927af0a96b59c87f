"""Admin for people: view-only. Changes go through the audited services (console and API); the admin
never shows an ID number, a mobile or a care note in full."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from linli.core.pii import mask_id, mask_name, mask_phone
from linli.people.models import (
    CareTag,
    Establishment,
    Household,
    Occupancy,
    Person,
    RentalRegistration,
    Vehicle,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only: writes bypassing the services would skip validation and the audit log."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ("id", "masked_name", "estate", "masked_id_number", "masked_phone", "population_type")
    list_filter = ("population_type", "id_type")
    list_select_related = ("estate",)
    exclude = ("id_number", "id_number_hash", "phone", "phone_hash")
    readonly_fields = ("masked_id_number", "masked_phone")

    @admin.display(description=_("姓名"))
    def masked_name(self, obj: Person) -> str:
        return mask_name(obj.name)

    @admin.display(description=_("证件号码"))
    def masked_id_number(self, obj: Person) -> str:
        return mask_id(obj.id_number)

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: Person) -> str:
        return mask_phone(obj.phone)


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("id", "estate", "room")
    list_select_related = ("estate", "room")
    raw_id_fields = ("room", "head")


@admin.register(Occupancy)
class OccupancyAdmin(ReadOnlyAdmin):
    list_display = ("id", "estate", "room", "relation", "start_date", "end_date")
    list_filter = ("relation",)
    list_select_related = ("estate", "room")
    raw_id_fields = ("person", "room", "household")


@admin.register(RentalRegistration)
class RentalRegistrationAdmin(ReadOnlyAdmin):
    list_display = ("id", "estate", "status", "report_deadline", "reported_at")
    list_filter = ("status",)
    raw_id_fields = ("occupancy", "landlord")


@admin.register(CareTag)
class CareTagAdmin(ReadOnlyAdmin):
    list_display = ("id", "estate", "kind", "start_date", "end_date")
    list_filter = ("kind",)
    exclude = ("note",)
    raw_id_fields = ("person",)


@admin.register(Vehicle)
class VehicleAdmin(ReadOnlyAdmin):
    list_display = ("plate", "estate", "kind")
    list_filter = ("kind",)
    raw_id_fields = ("owner",)


@admin.register(Establishment)
class EstablishmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "estate", "kind", "status", "masked_contact_phone")
    list_filter = ("kind", "status")
    exclude = ("contact_phone",)
    readonly_fields = ("masked_contact_phone",)
    raw_id_fields = ("room",)

    @admin.display(description=_("联系电话"))
    def masked_contact_phone(self, obj: Establishment) -> str:
        return mask_phone(obj.contact_phone)
