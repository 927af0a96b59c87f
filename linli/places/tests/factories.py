"""Test data for places, created through the services (so paths and addresses are real)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from linli.places import services
from linli.places.models import Facility, ParkingSpace, Region, RegionLevel, Room

_seq = itertools.count(1)


def admin_chain(
    *,
    province: str = "山西省",
    city: str = "太原市",
    district: str = "小店区",
    street: str = "坞城街道",
    community: str = "学府社区",
) -> Region:
    """Province → city → district → street → community, reusing existing nodes by name."""
    parent = None
    codes = {
        "province": "140000",
        "city": "140100",
        "district": "140105",
        "street": "140105001",
        "community": "140105001001",
    }
    for level, name in (
        ("province", province),
        ("city", city),
        ("district", district),
        ("street", street),
        ("community", community),
    ):
        node = Region.objects.filter(parent=parent, name=name).first()
        parent = node or services.region_create(level=level, name=name, parent=parent, code=codes[level])
    return parent


def estate(*, name: str | None = None, community: Region | None = None, code: str | None = None) -> Region:
    n = next(_seq)
    community = community or admin_chain()
    return services.region_create(
        level=RegionLevel.ESTATE,
        name=name or f"测试小区{n}",
        parent=community,
        code=code or f"E{n:04d}",
        address=f"测试路{n}号",
    )


def building(*, estate: Region, name: str | None = None) -> Region:
    n = next(_seq)
    return services.region_create(
        level=RegionLevel.BUILDING, name=name or f"{n}号楼", parent=estate, code=f"{n:02d}"
    )


def unit(*, building: Region, name: str = "1单元") -> Region:
    return services.region_create(level=RegionLevel.UNIT, name=name, parent=building, code=f"U{next(_seq)}")


def room(
    *,
    estate: Region,
    building: Region | None = None,
    unit: Region | None = None,
    floor: int = 3,
    number: str | None = None,
    area: str = "89.50",
    **kwargs,
) -> Room:
    building = building or (unit.parent if unit else None) or globals()["building"](estate=estate)
    number = number or f"{floor}{next(_seq) % 100:02d}"
    return services.room_create(
        estate=estate, building=building, unit=unit, floor=floor, number=number, area=Decimal(area), **kwargs
    )


def parking_space(
    *,
    estate: Region,
    code: str | None = None,
    room: Room | None = None,
    zone: str = "地下一层 A 区",
    kind: str = ParkingSpace.Kind.RENTED,
) -> ParkingSpace:
    """A parking space, created as the platform would (through the service, by a platform actor)."""
    return services.parking_space_create(
        actor=_system_actor(),
        estate=estate,
        code=code or f"P{next(_seq):04d}",
        zone=zone,
        kind=kind,
        room=room,
    )


def facility(
    *,
    estate: Region,
    building: Region | None = None,
    kind: str = Facility.Kind.HYDRANT,
    name: str | None = None,
    location: str = "",
    status: str = "normal",
) -> Facility:
    return services.facility_create(
        actor=_system_actor(),
        estate=estate,
        building=building,
        kind=kind,
        name=name or f"设施{next(_seq)}",
        location=location,
        status=status,
    )


def _system_actor():
    from linli.accounts.models import User
    from linli.core.scoping import Actor
    from linli.orgs.roles import ROLE_PERMISSIONS, Role

    user = User.objects.filter(username="places-factory").first() or User.objects.create(
        username="places-factory", kind="staff"
    )
    return Actor(
        user=user,
        roles=frozenset({Role.PLATFORM_ADMIN}),
        permissions=ROLE_PERMISSIONS[Role.PLATFORM_ADMIN],
        is_platform=True,
    )


def rooms_xlsx(rows: list[tuple], *, header: tuple | None = None) -> bytes:
    """An XLSX workbook with the import header (or ``header``) and ``rows``."""
    import io

    from openpyxl import Workbook

    from linli.places.imports import COLUMNS

    wb = Workbook()
    ws = wb.active
    ws.append(list(header or [h for h, _a in COLUMNS.values()]))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rooms_csv(rows: list[tuple], *, header: tuple | None = None, encoding: str = "utf-8-sig") -> bytes:
    import csv
    import io

    from linli.places.imports import COLUMNS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header or [h for h, _a in COLUMNS.values()])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
