"""Writes for places: regions (with their materialised path) and rooms (with their standard address)."""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import ValidationFailed
from linli.core.models import ImportJob
from linli.core.permissions import Perm
from linli.core.scoping import Actor
from linli.core.tabular import check_size, safe_file_name
from linli.places import imports
from linli.places.models import (
    ALLOWED_PARENTS,
    Facility,
    ParkingSpace,
    Region,
    RegionLevel,
    Room,
    RoomStatus,
    RoomUse,
)
from linli.places.selectors import FACILITY_STATUSES, ROOMS_IMPORT_KIND, require_estate


@transaction.atomic
def region_create(
    *, level: str, name: str, parent: Region | None = None, code: str = "", address: str = "", sort: int = 0
) -> Region:
    """Create a region node under ``parent``; the level must fit the tree (省 > 市 > … > 单元)."""
    parent_level = parent.level if parent else None
    if parent_level not in ALLOWED_PARENTS[RegionLevel(level)]:
        raise ValidationFailed(fields={"parent": [_("该层级不能挂在此上级之下")]})
    name = name.strip()
    if not name:
        raise ValidationFailed(fields={"name": [_("名称不能为空")]})
    if Region.objects.filter(parent=parent, name=name).exists():
        raise ValidationFailed(fields={"name": [_("同一上级下已有同名节点")]})
    region = Region.objects.create(
        level=level,
        name=name,
        parent=parent,
        code=code,
        address=address,
        sort=sort,
        depth=(parent.depth + 1) if parent else 0,
    )
    region.path = f"{parent.path if parent else '/'}{region.pk}/"
    region.save(update_fields=["path"])
    return region


def standard_address(
    *, building: Region, unit: Region | None, number: str, ancestors: list[Region] | None = None
) -> str:
    """标准地址: the administrative names from province to estate, then building, unit and room."""
    chain = ancestors if ancestors is not None else building.ancestors()
    head = "".join(r.name for r in chain)
    return f"{head}{building.name}{unit.name if unit else ''}{number}室"


def address_code(*, estate: Region, building: Region, unit: Region | None, number: str) -> str:
    parts = [estate.code or f"E{estate.pk}", building.code or f"B{building.pk}"]
    if unit is not None:
        parts.append(unit.code or f"U{unit.pk}")
    parts.append(number)
    return "-".join(parts)


def room_build(
    *,
    estate: Region,
    building: Region,
    unit: Region | None,
    floor: int,
    number: str,
    area: Decimal,
    use: str = RoomUse.RESIDENTIAL,
    status: str = RoomStatus.SELF_OCCUPIED,
    ancestors: list[Region] | None = None,
) -> Room:
    """An unsaved room with its path, standard address and address code filled in (for bulk creation)."""
    holder = unit or building
    return Room(
        estate=estate,
        building=building,
        unit=unit,
        path=holder.path,
        floor=floor,
        number=number,
        area=area,
        use=use,
        status=status,
        standard_address=standard_address(building=building, unit=unit, number=number, ancestors=ancestors),
        address_code=address_code(estate=estate, building=building, unit=unit, number=number),
    )


@transaction.atomic
def room_create(**kwargs) -> Room:
    room = room_build(**kwargs)
    room.full_clean(exclude=["estate", "building", "unit"])
    room.save()
    return room


# ---------------------------------------------------------------------------------------------------------
# Changes made by staff (permission-checked, scope-checked, audited)


def _area(value: Decimal | str | float, field_name: str = "area") -> Decimal:
    try:
        area = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(fields={field_name: [_("建筑面积必须是数字")]}) from None
    if not area.is_finite() or not Decimal(0) < area < imports.AREA_MAX:
        raise ValidationFailed(fields={field_name: [_("建筑面积必须大于 0 且小于 100000 平方米")]})
    if area != area.quantize(Decimal("0.01")):
        raise ValidationFailed(fields={field_name: [_("建筑面积最多保留两位小数")]})
    return area.quantize(Decimal("0.01"))


@transaction.atomic
def room_update(
    *,
    actor: Actor,
    room: Room,
    area: Decimal | str | None = None,
    use: str | None = None,
    status: str | None = None,
) -> Room:
    """Change a room's area, use or status (``places.manage``); the audit record keeps old and new values."""
    actor.require(Perm.PLACES_MANAGE, write=True)
    actor.require_path(room.path)
    errors: dict[str, list[str]] = {}
    changes: dict[str, list[str]] = {}
    new: dict[str, object] = {}
    if area is not None:
        try:
            new["area"] = _area(area)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if use is not None:
        if use not in RoomUse.values:
            errors["use"] = [_("可选值：") + ", ".join(RoomUse.values)]
        else:
            new["use"] = use
    if status is not None:
        if status not in RoomStatus.values:
            errors["status"] = [_("可选值：") + ", ".join(RoomStatus.values)]
        else:
            new["status"] = status
    if errors:
        raise ValidationFailed(fields=errors)
    for name, value in new.items():
        old = getattr(room, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(room, name, value)
    if changes:
        room.save(update_fields=[*changes, "updated_at"])
        audit.record(Action.UPDATE, actor=actor, obj=room, detail={"changes": changes})
    return room


@transaction.atomic
def parking_space_create(
    *,
    actor: Actor,
    estate: Region,
    code: str,
    zone: str = "",
    kind: str = ParkingSpace.Kind.RENTED,
    room: Room | None = None,
) -> ParkingSpace:
    """Add a parking space (车位) to an estate; the code is unique within the estate."""
    actor.require(Perm.PLACES_MANAGE, write=True)
    actor.require_path(estate.path)
    code, zone = code.strip(), zone.strip()
    errors: dict[str, list[str]] = {}
    if estate.level != RegionLevel.ESTATE:
        errors["estate"] = [_("车位只能登记在小区下")]
    if not code or len(code) > 32:
        errors["code"] = [_("车位编号不能为空，且不超过 32 个字符")]
    elif ParkingSpace.objects.filter(estate=estate, code=code).exists():
        errors["code"] = [_("本小区已有该车位编号")]
    if len(zone) > 50:
        errors["zone"] = [_("区域不能超过 50 个字")]
    if kind not in ParkingSpace.Kind.values:
        errors["kind"] = [_("可选值：") + ", ".join(ParkingSpace.Kind.values)]
    if room is not None and room.estate_id != estate.pk:
        errors["room"] = [_("房屋不属于该小区")]
    if errors:
        raise ValidationFailed(fields=errors)
    space = ParkingSpace.objects.create(estate=estate, code=code, zone=zone, kind=kind, room=room)
    audit.record(Action.CREATE, actor=actor, obj=space, detail={"code": code, "kind": kind})
    return space


def _facility_errors(
    *,
    estate: Region,
    building: Region | None,
    kind: str | None,
    name: str | None,
    location: str | None,
    status: str | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if estate.level != RegionLevel.ESTATE:
        errors["estate"] = [_("设施只能登记在小区下")]
    if building is not None and (building.level != RegionLevel.BUILDING or building.parent_id != estate.pk):
        errors["building_id"] = [_("楼栋不属于该小区")]
    if kind is not None and kind not in Facility.Kind.values:
        errors["kind"] = [_("可选值：") + ", ".join(Facility.Kind.values)]
    if name is not None and (not name or len(name) > 100):
        errors["name"] = [_("名称不能为空，且不超过 100 个字")]
    if location is not None and len(location) > 200:
        errors["location"] = [_("位置不能超过 200 个字")]
    if status is not None and status not in FACILITY_STATUSES:
        errors["status"] = [_("可选值：") + ", ".join(FACILITY_STATUSES)]
    return errors


@transaction.atomic
def facility_create(
    *,
    actor: Actor,
    estate: Region,
    kind: str,
    name: str,
    building: Region | None = None,
    location: str = "",
    status: str = "normal",
) -> Facility:
    """Register a public facility (消火栓、电梯、出入口 …) of an estate, optionally in one building."""
    actor.require(Perm.PLACES_MANAGE, write=True)
    actor.require_path(estate.path)
    name, location = name.strip(), location.strip()
    errors = _facility_errors(
        estate=estate, building=building, kind=kind, name=name, location=location, status=status
    )
    if errors:
        raise ValidationFailed(fields=errors)
    facility = Facility.objects.create(
        estate=estate, building=building, kind=kind, name=name, location=location, status=status
    )
    audit.record(Action.CREATE, actor=actor, obj=facility, detail={"kind": kind, "name": name})
    return facility


@transaction.atomic
def facility_update(
    *,
    actor: Actor,
    facility: Facility,
    name: str | None = None,
    location: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> Facility:
    """Change a facility's name, location, kind or status; the audit record keeps old and new values."""
    actor.require(Perm.PLACES_MANAGE, write=True)
    actor.require_path(facility.estate.path)
    name = name.strip() if name is not None else None
    location = location.strip() if location is not None else None
    errors = _facility_errors(
        estate=facility.estate, building=None, kind=kind, name=name, location=location, status=status
    )
    if errors:
        raise ValidationFailed(fields=errors)
    changes: dict[str, list[str]] = {}
    for field_name, value in (("name", name), ("location", location), ("status", status), ("kind", kind)):
        if value is not None and getattr(facility, field_name) != value:
            changes[field_name] = [getattr(facility, field_name), value]
            setattr(facility, field_name, value)
    if changes:
        facility.save(update_fields=[*changes, "updated_at"])
        audit.record(Action.UPDATE, actor=actor, obj=facility, detail={"changes": changes})
    return facility


# ---------------------------------------------------------------------------------------------------------
# Spreadsheet onboarding of an estate's buildings, units and rooms


def _reject(
    *,
    actor: Actor,
    estate: Region,
    file_name: str,
    errors: list[imports.RowError],
    total: int,
    started: float,
) -> ImportJob:
    return ImportJob.objects.create(
        kind=ROOMS_IMPORT_KIND,
        estate=estate,
        file_name=file_name,
        status=ImportJob.Status.REJECTED,
        total_rows=total,
        created_count=0,
        errors=[e.as_dict() for e in errors],
        created_by=actor.user,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def _existing_room_errors(*, estate: Region, rows: list[imports.RoomRow]) -> list[imports.RowError]:
    """Rows whose room (building, unit, number) already exists in the estate: one query."""
    existing = {
        (b, u or "", n)
        for b, u, n in Room.objects.filter(estate=estate).values_list(
            "building__name", "unit__name", "number"
        )
    }
    return [
        imports.RowError(
            r.row,
            imports.COLUMNS["number"][0],
            _("该房屋已存在（%(b)s%(u)s%(n)s）") % {"b": r.building, "u": r.unit, "n": r.number},
        )
        for r in rows
        if r.key in existing
    ]


def _address_errors(
    *,
    estate: Region,
    rows: list[imports.RoomRow],
    ancestors: list[Region],
    buildings: dict[str, Region],
    units: dict[tuple[str, str], Region],
) -> list[imports.RowError]:
    """Rows whose standard address or address code would not fit their columns."""
    errors = []
    placeholder = "B" + "9" * 12  # a new building's code is "B<pk>"; assume a long pk
    head = "".join(r.name for r in ancestors)
    for r in rows:
        b = buildings.get(r.building)
        u = units.get((r.building, r.unit)) if r.unit else None
        code_len = len(
            "-".join(
                [
                    estate.code or f"E{estate.pk}",
                    (b.code or f"B{b.pk}") if b else placeholder,
                    *([(u.code or f"U{u.pk}") if u else placeholder] if r.unit else []),
                    r.number,
                ]
            )
        )
        if code_len > Room._meta.get_field("address_code").max_length:
            errors.append(
                imports.RowError(r.row, imports.COLUMNS["number"][0], _("房号过长，无法生成标准地址编码"))
            )
        elif (
            len(f"{head}{r.building}{r.unit}{r.number}室")
            > Room._meta.get_field("standard_address").max_length
        ):
            errors.append(imports.RowError(r.row, imports.COLUMNS["building"][0], _("楼栋或单元名称过长")))
    return errors


def rooms_import(*, actor: Actor, estate: Region, file_name: str, data: bytes) -> ImportJob:
    """Onboard an estate's buildings, units and rooms from an XLSX/CSV file, all or nothing.

    Every row is validated first (values, duplicates inside the file, rooms already in the estate).
    With any error nothing is written but a rejected ``ImportJob`` listing every bad row; otherwise
    missing buildings and units are created, the rooms are bulk-created in one transaction, and the
    job and an ``data.import`` audit record are written in the same transaction.
    """
    require_estate(actor=actor, estate=estate, perm=Perm.PLACES_IMPORT, write=True)
    check_size(len(data))
    started = time.monotonic()
    file_name = safe_file_name(file_name)
    try:
        parsed = imports.parse_rooms(file_name, data, max_rows=settings.IMPORT_MAX_ROWS)
    except imports.FileRejected as exc:
        return _reject(
            actor=actor,
            estate=estate,
            file_name=file_name,
            errors=[imports.RowError(0, exc.column, exc.message)],
            total=0,
            started=started,
        )

    buildings = {b.name: b for b in Region.objects.filter(parent=estate, level=RegionLevel.BUILDING)}
    units = {
        (u.parent.name, u.name): u
        for u in Region.objects.filter(
            parent__in=list(buildings.values()), level=RegionLevel.UNIT
        ).select_related("parent")
    }
    ancestors = estate.ancestors(include_self=True)
    errors = [
        *parsed.errors,
        *_existing_room_errors(estate=estate, rows=parsed.rows),
        *_address_errors(
            estate=estate, rows=parsed.rows, ancestors=ancestors, buildings=buildings, units=units
        ),
    ]
    if errors:
        errors.sort(key=lambda e: e.row)  # stable: a row's errors stay in column order
        return _reject(
            actor=actor,
            estate=estate,
            file_name=file_name,
            errors=errors,
            total=parsed.total_rows,
            started=started,
        )
    try:
        with transaction.atomic():
            return _apply(
                actor=actor,
                estate=estate,
                file_name=file_name,
                parsed=parsed,
                buildings=buildings,
                units=units,
                ancestors=ancestors,
                started=started,
            )
    except (IntegrityError, DatabaseError):
        # Someone added the same rooms between validation and writing: nothing of this file was kept.
        return _reject(
            actor=actor,
            estate=estate,
            file_name=file_name,
            total=parsed.total_rows,
            started=started,
            errors=[imports.RowError(0, "", _("导入期间房屋数据发生变化，未导入任何数据，请重新上传"))],
        )


def _apply(
    *,
    actor: Actor,
    estate: Region,
    file_name: str,
    parsed: imports.Parsed,
    buildings: dict[str, Region],
    units: dict[tuple[str, str], Region],
    ancestors: list[Region],
    started: float,
) -> ImportJob:
    new_buildings = new_units = 0
    rooms: list[Room] = []
    for r in parsed.rows:
        building = buildings.get(r.building)
        if building is None:
            building = buildings[r.building] = region_create(
                level=RegionLevel.BUILDING, name=r.building, parent=estate
            )
            new_buildings += 1
        unit = None
        if r.unit:
            unit = units.get((r.building, r.unit))
            if unit is None:
                unit = units[(r.building, r.unit)] = region_create(
                    level=RegionLevel.UNIT, name=r.unit, parent=building
                )
                new_units += 1
        rooms.append(
            room_build(
                estate=estate,
                building=building,
                unit=unit,
                floor=r.floor,
                number=r.number,
                area=r.area,
                use=r.use,
                status=r.status,
                ancestors=ancestors,
            )
        )
    Room.objects.bulk_create(rooms, batch_size=1000)
    job = ImportJob.objects.create(
        kind=ROOMS_IMPORT_KIND,
        estate=estate,
        file_name=file_name,
        status=ImportJob.Status.APPLIED,
        total_rows=parsed.total_rows,
        created_count=len(rooms),
        errors=[],
        created_by=actor.user,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    audit.record(
        Action.IMPORT,
        actor=actor,
        obj=job,
        estate_id=estate.pk,
        detail={
            "kind": ROOMS_IMPORT_KIND,
            "rooms": len(rooms),
            "buildings": new_buildings,
            "units": new_units,
        },
    )
    return job
