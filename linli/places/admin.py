"""Django admin for places master data (platform administrators).

New regions and rooms go through the services so that paths, standard addresses and address codes
are computed as everywhere else; the tree position (level, parent, building, unit) is fixed once
created, because moving a node would need its whole subtree and every room address rewritten.
Changes of room area/use/status, parking spaces and facilities go through the audited services with
the admin's actor.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext_lazy as _

from linli.core.errors import DomainError
from linli.core.scoping import resolve_actor
from linli.places import services
from linli.places.models import ALLOWED_PARENTS, Facility, ParkingSpace, Region, RegionLevel, Room


def _actor(request):
    try:
        return resolve_actor(request.user)
    except DomainError as exc:
        raise DjangoPermissionDenied(exc.message) from exc


class ServiceAdmin(admin.ModelAdmin):
    """Admin whose saves run through a service (``save_via_service`` in each subclass).

    The forms below check what the services check, so a service refusal here means the admin user
    lacks the permission (no membership granting it): that is a 403, and nothing is saved.
    """

    def save_model(self, request, obj, form, change):
        try:
            self.save_via_service(request, obj, form, change)
        except DomainError as exc:
            raise DjangoPermissionDenied(exc.message) from exc


class RegionForm(forms.ModelForm):
    class Meta:
        model = Region
        fields = ("level", "name", "code", "parent", "address", "sort")

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("level"):
            parent = data.get("parent")
            if (parent.level if parent else None) not in ALLOWED_PARENTS[RegionLevel(data["level"])]:
                self.add_error("parent", _("该层级不能挂在此上级之下"))
        return data


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ("estate", "building", "unit", "floor", "number", "area", "use", "status")

    def clean(self):
        data = super().clean()
        if self.instance.pk is None:
            estate, building, unit = data.get("estate"), data.get("building"), data.get("unit")
            if estate and estate.level != RegionLevel.ESTATE:
                self.add_error("estate", _("请选择小区"))
            if (
                building
                and estate
                and (building.level != RegionLevel.BUILDING or building.parent_id != estate.pk)
            ):
                self.add_error("building", _("楼栋不属于该小区"))
            if unit and building and (unit.level != RegionLevel.UNIT or unit.parent_id != building.pk):
                self.add_error("unit", _("单元不属于该楼栋"))
        area = data.get("area")
        if area is not None and area <= 0:
            self.add_error("area", _("建筑面积必须大于 0"))
        return data


class ParkingSpaceForm(forms.ModelForm):
    class Meta:
        model = ParkingSpace
        fields = ("estate", "code", "zone", "kind", "room")

    def clean(self):
        data = super().clean()
        estate = data.get("estate") or (self.instance.estate if self.instance.pk else None)
        room = data.get("room")
        if estate and estate.level != RegionLevel.ESTATE:
            self.add_error("estate", _("请选择小区"))
        if estate and room and room.estate_id != estate.pk:
            self.add_error("room", _("房屋不属于该小区"))
        return data


class FacilityForm(forms.ModelForm):
    class Meta:
        model = Facility
        fields = ("estate", "building", "kind", "name", "location", "status")

    def clean(self):
        data = super().clean()
        estate, building = data.get("estate"), data.get("building")
        if estate and estate.level != RegionLevel.ESTATE:
            self.add_error("estate", _("请选择小区"))
        if (
            estate
            and building
            and (building.level != RegionLevel.BUILDING or building.parent_id != estate.pk)
        ):
            self.add_error("building", _("楼栋不属于该小区"))
        return data


@admin.register(Region)
class RegionAdmin(ServiceAdmin):
    form = RegionForm
    list_display = ("name", "level", "code", "parent", "path", "sort")
    list_filter = ("level",)
    search_fields = ("name", "code", "address")
    ordering = ("path",)
    raw_id_fields = ("parent",)
    readonly_fields = ("path", "depth", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        fixed = ("level", "parent") if obj is not None else ()
        return (*fixed, *self.readonly_fields)

    def save_via_service(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "code", "address", "sort", "updated_at"])
            return
        created = services.region_create(
            level=obj.level,
            name=obj.name,
            parent=obj.parent,
            code=obj.code,
            address=obj.address,
            sort=obj.sort,
        )
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth


@admin.register(Room)
class RoomAdmin(ServiceAdmin):
    form = RoomForm
    list_display = ("standard_address", "floor", "number", "area", "use", "status")
    list_filter = ("use", "status")
    search_fields = ("standard_address", "number", "address_code")
    raw_id_fields = ("estate", "building", "unit")
    readonly_fields = ("path", "address_code", "standard_address", "created_at", "updated_at")
    list_select_related = ("estate", "building", "unit")

    def get_readonly_fields(self, request, obj=None):
        fixed = ("estate", "building", "unit", "floor", "number") if obj is not None else ()
        return (*fixed, *self.readonly_fields)

    def save_via_service(self, request, obj, form, change):
        if change:
            current = Room.objects.get(pk=obj.pk)
            services.room_update(
                actor=_actor(request), room=current, area=obj.area, use=obj.use, status=obj.status
            )
            return
        created = services.room_create(
            estate=obj.estate,
            building=obj.building,
            unit=obj.unit,
            floor=obj.floor,
            number=obj.number,
            area=obj.area,
            use=obj.use,
            status=obj.status,
        )
        obj.pk = created.pk


@admin.register(ParkingSpace)
class ParkingSpaceAdmin(ServiceAdmin):
    form = ParkingSpaceForm
    list_display = ("code", "estate", "zone", "kind", "room")
    list_filter = ("kind",)
    search_fields = ("code", "zone")
    raw_id_fields = ("estate", "room")
    list_select_related = ("estate", "room")

    def get_readonly_fields(self, request, obj=None):
        return ("estate", "code") if obj is not None else ()

    def save_via_service(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["zone", "kind", "room", "updated_at"])
            return
        created = services.parking_space_create(
            actor=_actor(request),
            estate=obj.estate,
            code=obj.code,
            zone=obj.zone,
            kind=obj.kind,
            room=obj.room,
        )
        obj.pk = created.pk


@admin.register(Facility)
class FacilityAdmin(ServiceAdmin):
    form = FacilityForm
    list_display = ("name", "kind", "estate", "building", "location", "status")
    list_filter = ("kind", "status")
    search_fields = ("name", "location")
    raw_id_fields = ("estate", "building")
    list_select_related = ("estate", "building")

    def get_readonly_fields(self, request, obj=None):
        return ("estate", "building") if obj is not None else ()

    def save_via_service(self, request, obj, form, change):
        actor = _actor(request)
        if change:
            current = Facility.objects.select_related("estate").get(pk=obj.pk)
            services.facility_update(
                actor=actor,
                facility=current,
                name=obj.name,
                location=obj.location,
                status=obj.status,
                kind=obj.kind,
            )
            return
        created = services.facility_create(
            actor=actor,
            estate=obj.estate,
            building=obj.building,
            kind=obj.kind,
            name=obj.name,
            location=obj.location,
            status=obj.status,
        )
        obj.pk = created.pk
