"""Writes for places: regions (with their materialised path) and rooms (with their standard address)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core.errors import ValidationFailed
from linli.places.models import ALLOWED_PARENTS, Region, RegionLevel, Room, RoomStatus, RoomUse


@transaction.atomic
def region_create(*, level: str, name: str, parent: Region | None = None, code: str = "", address: str = "",
                  sort: int = 0) -> Region:
    """Create a region node under ``parent``; the level must fit the tree (省 > 市 > … > 单元)."""
    parent_level = parent.level if parent else None
    if parent_level not in ALLOWED_PARENTS[RegionLevel(level)]:
        raise ValidationFailed(fields={"parent": [_("该层级不能挂在此上级之下")]})
    name = name.strip()
    if not name:
        raise ValidationFailed(fields={"name": [_("名称不能为空")]})
    if Region.objects.filter(parent=parent, name=name).exists():
        raise ValidationFailed(fields={"name": [_("同一上级下已有同名节点")]})
    region = Region.objects.create(level=level, name=name, parent=parent, code=code, address=address, sort=sort,
                                   depth=(parent.depth + 1) if parent else 0)
    region.path = f"{parent.path if parent else '/'}{region.pk}/"
    region.save(update_fields=["path"])
    return region


def standard_address(*, building: Region, unit: Region | None, number: str,
                     ancestors: list[Region] | None = None) -> str:
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


def room_build(*, estate: Region, building: Region, unit: Region | None, floor: int, number: str,
               area: Decimal, use: str = RoomUse.RESIDENTIAL, status: str = RoomStatus.SELF_OCCUPIED,
               ancestors: list[Region] | None = None) -> Room:
    """An unsaved room with its path, standard address and address code filled in (for bulk creation)."""
    holder = unit or building
    return Room(
        estate=estate, building=building, unit=unit, path=holder.path, floor=floor, number=number, area=area,
        use=use, status=status,
        standard_address=standard_address(building=building, unit=unit, number=number, ancestors=ancestors),
        address_code=address_code(estate=estate, building=building, unit=unit, number=number),
    )


@transaction.atomic
def room_create(**kwargs) -> Room:
    room = room_build(**kwargs)
    room.full_clean(exclude=["estate", "building", "unit"])
    room.save()
    return room
