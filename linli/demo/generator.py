"""The demo community: two estates of 学府社区 (太原市小店区坞城街道) with rooms, residents and staff.

``generate(seed=..., scale=...)`` builds, in one transaction and mostly with ``bulk_create``:

- the region chain 山西省 → 太原市 → 小店区 → 坞城街道 → 学府社区 and the estates 学府花园 (XFHY) and
  康乐苑 (KLY) with buildings, units and rooms (≈2,400 rooms at scale 1), parking spaces and facilities;
- ≈5,000 residents: households of owners and family, tenants with rental registrations, landlords,
  special-care tags, vehicles, and shops on ground floors;
- the organisations of the area and one demo account for every role (random passwords, returned in
  ``DemoResult.accounts`` and never stored in clear).

The same seed gives the same people and places (passwords are random every time). ``scale`` shrinks
everything for tests (``LINLI_DEMO_SCALE=0.05`` builds a handful of buildings in about a second).
Sensitive values go through the model fields (``EncryptedTextField`` encrypts on save) with their
blind indexes computed here, exactly as the import services do.

One builder, split by domain: ``estates`` (places), ``residents`` (people), organisations and accounts
here, each a class deriving from the one before.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import User, UserKind
from linli.core import audit, crypto
from linli.core.audit import Action
from linli.demo import identities as ident
from linli.demo.estates import ESTATES, EstateSpec
from linli.demo.residents import ResidentBuilder
from linli.orgs.models import Membership, Organization, OrgKind
from linli.orgs.roles import Role
from linli.people.models import Person
from linli.places.models import Region, RegionLevel

ESTATE_ROLES = [
    (Role.PROPERTY_ADMIN, "manager"),
    (Role.CUSTOMER_SERVICE, "service"),
    (Role.TECHNICIAN, "tech"),
    (Role.GUARD, "guard"),
]


@dataclass
class DemoAccount:
    username: str
    password: str | None
    role: str
    role_label: str
    estate: str | None
    estate_code: str | None
    scope: str
    organization: str
    display_name: str
    phone: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = {
            "username": self.username,
            "password": self.password,
            "role": str(self.role),
            "role_label": self.role_label,
            "estate": self.estate,
            "estate_code": self.estate_code,
            "scope": self.scope,
            "organization": self.organization,
            "display_name": self.display_name,
            "kind": str(UserKind.RESIDENT if self.role == Role.RESIDENT else UserKind.STAFF),
            "login": "/h5/login" if self.role == Role.RESIDENT else "/accounts/login/",
        }
        if self.role == Role.RESIDENT:
            data["phone"] = self.phone
        return data


@dataclass
class DemoResult:
    counts: dict[str, int] = field(default_factory=dict)
    accounts: list[DemoAccount] = field(default_factory=list)
    seconds: float = 0.0


def random_password() -> str:
    """A random password that passes the configured validators (R40)."""
    while True:
        candidate = secrets.token_urlsafe(12)  # 16 characters
        try:
            validate_password(candidate)
        except ValidationError:
            continue
        return candidate


def write_accounts(path: Path, accounts: list[DemoAccount]) -> None:
    """Write the logins to ``path`` readable by the owner only (0600), replacing any old file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        json.dump([a.as_json() for a in accounts], fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


class _Builder(ResidentBuilder):
    """The whole demo: places and residents (the base classes), then organisations and accounts."""

    # -- organisations and accounts -------------------------------------------------------------
    def build_accounts(self) -> list[DemoAccount]:
        rng = self.rng
        street, community = self.chain[3], self.chain[4]
        accounts: list[DemoAccount] = []

        def org(kind: str, name: str, regions: list[Region], authority: str = "9") -> Organization:
            o = Organization.objects.create(
                kind=kind,
                name=name,
                credit_code=ident.credit_code(rng, authority=authority),
                contact_phone=f"0351-{rng.randint(2000000, 8999999)}",
            )
            o.regions.set(regions)
            return o

        def staff(
            username: str,
            role: str,
            organization: Organization,
            scope: list[Region],
            estate: tuple[EstateSpec, Region] | None,
            scope_label: str,
        ) -> None:
            password = random_password()
            name = ident.person_name(rng, male=rng.random() < 0.5)
            user = User(
                username=username, kind=UserKind.STAFF, display_name=name, password_changed_at=timezone.now()
            )
            user.set_password(password)
            user.save()
            membership = Membership.objects.create(user=user, organization=organization, role=role)
            membership.scope.set(scope)
            audit.record(Action.ACCOUNT_CREATE, actor_label="linli demo", obj=user, detail={"role": role})
            accounts.append(
                DemoAccount(
                    username=username,
                    password=password,
                    role=role,
                    role_label=str(Role(role).label),
                    estate=estate[0].name if estate else None,
                    estate_code=estate[0].code if estate else None,
                    scope=scope_label,
                    organization=organization.name,
                    display_name=name,
                )
            )

        property_orgs = {
            "XFHY": "太原学府物业服务有限公司",
            "KLY": "山西康乐苑物业管理有限公司",
        }
        for spec, estate in self.estates:
            company = org(OrgKind.PROPERTY_COMPANY, property_orgs[spec.code], [estate])
            for role, suffix in ESTATE_ROLES:
                staff(f"{spec.slug}_{suffix}", role, company, [estate], (spec, estate), spec.name)
        committee = org(OrgKind.COMMUNITY_COMMITTEE, "学府社区居委会", [community], authority="5")
        staff("xuefu_worker", Role.COMMUNITY_WORKER, committee, [community], None, community.name)
        office = org(OrgKind.SUBDISTRICT_OFFICE, "坞城街道办事处", [street], authority="1")
        staff("wucheng_officer", Role.SUBDISTRICT_OFFICER, office, [street], None, street.name)
        police = org(OrgKind.POLICE_STATION, "坞城派出所", [street], authority="1")
        staff("wucheng_police", Role.POLICE_OFFICER, police, [street], None, street.name)
        first = self.estates[0]
        provider = org(OrgKind.SERVICE_PROVIDER, "学府便民家政服务中心", [first[1]])
        staff(f"{first[0].slug}_provider", Role.SERVICE_PROVIDER, provider, [first[1]], first, first[0].name)
        platform = org(OrgKind.PLATFORM_OPERATOR, "邻里平台运营中心", [])
        staff("platform_ops", Role.PLATFORM_ADMIN, platform, [], None, "全平台")
        staff("audit_officer", Role.AUDIT_ADMIN, platform, [], None, "全平台")
        for spec, estate in self.estates:
            accounts.append(self._resident(spec, estate))
        self.counts["organizations"] = Organization.objects.count()
        self.counts["accounts"] = len(accounts)
        return accounts

    def _resident(self, spec: EstateSpec, estate: Region) -> DemoAccount:
        """A resident account (phone + SMS code, no password) linked to an owner of this estate."""
        person = next(
            p
            for p in self.heads
            if p.estate_id == estate.pk
            and p.phone
            and 25 * 365 <= (self.today - p.birth_date).days <= 60 * 365
        )
        user = User(
            username=f"{spec.slug}_resident",
            kind=UserKind.RESIDENT,
            display_name=person.name,
            phone=person.phone,
            phone_hash=crypto.blind_index(person.phone, purpose=crypto.INDEX_PHONE),
        )
        user.set_unusable_password()
        user.save()
        Person.objects.filter(pk=person.pk).update(user=user)
        audit.record(
            Action.ACCOUNT_CREATE, actor_label="linli demo", obj=user, detail={"role": Role.RESIDENT}
        )
        return DemoAccount(
            username=user.username,
            password=None,
            role=Role.RESIDENT,
            role_label=str(Role.RESIDENT.label),
            estate=spec.name,
            estate_code=spec.code,
            scope=f"{spec.name}（本户）",
            organization="",
            display_name=person.name,
            phone=person.phone,
        )


def generate(
    *,
    seed: int,
    scale: float = 1.0,
    today: date | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> DemoResult:
    """Build the whole demo community in one transaction. Call only on a database without estates."""
    started = time.monotonic()
    builder = _Builder(seed=seed, scale=scale, today=today or timezone.localdate(), log=log)
    with transaction.atomic():
        builder.build_places()
        builder.build_people()
        accounts = builder.build_accounts()
        audit.record(
            Action.IMPORT,
            actor_label="linli demo",
            object_type="demo.dataset",
            detail={"seed": seed, "scale": scale, **builder.counts},
        )
    return DemoResult(counts=builder.counts, accounts=accounts, seconds=time.monotonic() - started)


def demo_exists() -> bool:
    return Region.objects.filter(level=RegionLevel.ESTATE).exists()


def accounts_reset() -> list[DemoAccount]:
    """New random passwords for the demo's staff accounts (when ``demo-accounts.json`` was lost).

    Only accounts the demo created (by username) are touched; residents keep signing in by phone.
    """
    known = {f"{spec.slug}_{suffix}" for spec in ESTATES for _, suffix in ESTATE_ROLES}
    known |= {
        "xuefu_worker",
        "wucheng_officer",
        "wucheng_police",
        f"{ESTATES[0].slug}_provider",
        "platform_ops",
        "audit_officer",
    }
    residents = {f"{spec.slug}_resident" for spec in ESTATES}
    estates = {spec.code: spec for spec in ESTATES}
    accounts: list[DemoAccount] = []
    users = (
        User.objects.filter(username__in=known | residents)
        .prefetch_related("memberships__organization", "memberships__scope")
        .order_by("pk")
    )
    with transaction.atomic():
        for user in users:
            if user.username in residents:
                person = Person.objects.filter(user=user).select_related("estate").first()
                spec = estates.get(person.estate.code) if person else None
                accounts.append(
                    DemoAccount(
                        username=user.username,
                        password=None,
                        role=Role.RESIDENT,
                        role_label=str(Role.RESIDENT.label),
                        estate=spec.name if spec else None,
                        estate_code=spec.code if spec else None,
                        scope=f"{spec.name}（本户）" if spec else "",
                        organization="",
                        display_name=user.display_name,
                        phone=user.phone,
                    )
                )
                continue
            membership = user.memberships.first()
            if membership is None:
                continue
            password = random_password()
            user.set_password(password)
            user.password_changed_at = timezone.now()
            user.save(update_fields=["password", "password_changed_at"])
            audit.record(
                Action.PASSWORD_CHANGE, actor_label="linli demo", obj=user, reason="demo accounts reset"
            )
            scope = list(membership.scope.all())
            estate = next((r for r in scope if r.level == RegionLevel.ESTATE), None)
            spec = estates.get(estate.code) if estate else None
            accounts.append(
                DemoAccount(
                    username=user.username,
                    password=password,
                    role=membership.role,
                    role_label=str(Role(membership.role).label),
                    estate=spec.name if spec else None,
                    estate_code=spec.code if spec else None,
                    scope="、".join(r.name for r in scope) or "全平台",
                    organization=membership.organization.name,
                    display_name=user.display_name,
                )
            )
    return accounts
