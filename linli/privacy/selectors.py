"""Reads of the privacy app: the data catalogue (R1/R35), the audit log (R49) and consents (R3).

The catalogue is generated from the ``catalog`` declarations on the models (``linli.core.catalog``),
so the page, the export and the tests read the same source and cannot drift from the code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop

from linli.core import audit
from linli.core.audit import Action
from linli.core.catalog import Basis, Catalog, CatalogRow, Level, PIType, SensitiveCategory, catalog_for
from linli.core.errors import NotFound, PermissionDenied
from linli.core.fields import EncryptedTextField
from linli.core.models import AuditEvent
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.selectors import estate_list
from linli.privacy.models import Consent, Purpose

# ---------------------------------------------------------------------------------------------
# Data catalogue (一本账)
# ---------------------------------------------------------------------------------------------

_BASIS_LABELS = dict(Basis.choices)


def _stored_fields(model: type[models.Model]) -> list[models.Field]:
    """Every field that stores data: concrete columns plus many-to-many relations (their tables)."""
    return [*model._meta.concrete_fields, *model._meta.local_many_to_many]


def _model_category(decl: Catalog | None) -> str:
    """Sensitive category of a sensitive model's fields without their own override: the model's
    declared ``category`` (a CareTag row as a whole reveals a special identity, R61)."""
    return str(decl.category) if decl is not None else ""


def _row(model: type[models.Model], f: models.Field, decl: Catalog | None) -> CatalogRow:
    opts = model._meta
    override = decl.fields.get(f.name) if decl else None
    is_encrypted_field = isinstance(f, EncryptedTextField)
    if decl is None:
        # Undeclared: shown as the highest level (就高从严) with empty purpose, and reported as a gap.
        purpose, basis, level, pi, retention, recipients, note = "", "", Level.L4, PIType.NONE, "", "", ""
    else:
        purpose, basis, retention = str(decl.purpose), str(decl.basis), str(decl.retention)
        recipients, note = str(decl.recipients), str(decl.note)
        level, pi = int(decl.level), str(decl.pi)
    category, encrypted = (_model_category(decl) if pi == PIType.SENSITIVE else ""), is_encrypted_field
    if override is not None:
        pi = str(override.pi) if override.pi is not None else pi
        level = int(override.level) if override.level is not None else level
        category = str(override.category) or (_model_category(decl) if pi == PIType.SENSITIVE else "")
        encrypted = encrypted or override.encrypted
        note = str(override.note) or note
    column = f.m2m_db_table() if f.many_to_many else f.column
    return CatalogRow(
        app_label=opts.app_label,
        model=opts.model_name,
        table=opts.db_table,
        model_verbose=str(opts.verbose_name),
        field=f.name,
        column=column,
        field_verbose=str(f.verbose_name),
        purpose=purpose,
        basis=basis,
        basis_label=str(_BASIS_LABELS.get(basis, basis)),
        level=int(level),
        pi=pi,
        category=category,
        encrypted=bool(encrypted),
        retention=retention,
        recipients=recipients,
        note=note,
    )


def catalog_rows_of(model: type[models.Model]) -> list[CatalogRow]:
    decl = catalog_for(model)
    return [_row(model, f, decl) for f in _stored_fields(model)]


def catalog_rows() -> list[CatalogRow]:
    """One resolved row per stored field of every installed model, in app/model/field order."""
    rows: list[CatalogRow] = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label_lower):
        decl = catalog_for(model)
        rows.extend(_row(model, f, decl) for f in _stored_fields(model))
    return rows


def catalog_problems() -> list[str]:
    """Everything that keeps the catalogue from being complete and consistent (empty = healthy)."""
    problems: list[str] = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label_lower):
        label = model._meta.label_lower
        decl = catalog_for(model)
        if decl is None:
            problems.append(f"{label}: no catalogue declaration")
            continue
        names = {f.name for f in _stored_fields(model)}
        problems.extend(
            f"{label}.{name}: override names an unknown field" for name in decl.fields if name not in names
        )
        if decl.basis not in _BASIS_LABELS:
            problems.append(f"{label}: unknown legal basis {decl.basis!r}")
    for row in catalog_rows():
        where = f"{row.app_label}.{row.model}.{row.field}"
        if row.purpose == "" or row.basis == "" or row.retention == "":
            problems.append(f"{where}: purpose, legal basis and retention are required")
        if row.level not in Level.values:
            problems.append(f"{where}: level {row.level} is not L1–L4")
        if row.pi == PIType.SENSITIVE and row.category not in SensitiveCategory.values:
            problems.append(f"{where}: sensitive personal information needs a category")
        if row.category == SensitiveCategory.AUTH_SECRET and row.level != Level.L4:
            problems.append(f"{where}: authentication secrets are level 4")
        if row.encrypted and not _is_encrypted_column(row):
            problems.append(f"{where}: declared encrypted but the column is not an EncryptedTextField")
    return problems


def _is_encrypted_column(row: CatalogRow) -> bool:
    model = apps.get_model(row.app_label, row.model)
    return isinstance(model._meta.get_field(row.field), EncryptedTextField)


@dataclass(frozen=True)
class CatalogSummary:
    fields: int
    by_level: dict[int, int]
    sensitive: int
    personal: int
    encrypted: int
    models: int


def catalog_summary(rows: Iterable[CatalogRow]) -> CatalogSummary:
    rows = list(rows)
    levels = Counter(r.level for r in rows)
    return CatalogSummary(
        fields=len(rows),
        by_level={lvl: levels.get(lvl, 0) for lvl in Level.values},
        sensitive=sum(1 for r in rows if r.pi == PIType.SENSITIVE),
        personal=sum(1 for r in rows if r.pi in (PIType.GENERAL, PIType.SENSITIVE)),
        encrypted=sum(1 for r in rows if r.encrypted),
        models=len({(r.app_label, r.model) for r in rows}),
    )


def catalog_filter(
    rows: Iterable[CatalogRow], *, level: int | None = None, sensitive_only: bool = False
) -> list[CatalogRow]:
    return [r for r in rows if (level is None or r.level == level) and (not sensitive_only or r.sensitive)]


def catalog_list(*, actor: Actor, level: int | None = None, sensitive_only: bool = False) -> list[CatalogRow]:
    """The catalogue for the console page and the API (metadata only, not scoped: same for everyone)."""
    actor.require(Perm.CATALOG_VIEW)
    return catalog_filter(catalog_rows(), level=level, sensitive_only=sensitive_only)


def catalog_index() -> dict[str, CatalogRow]:
    """``"app_label.model.field"`` → row."""
    return {f"{r.app_label}.{r.model}.{r.field}": r for r in catalog_rows()}


def dataset_level(fields: Iterable[CatalogRow | str]) -> int:
    """The level of a dataset combining ``fields`` is the highest of its parts (就高从严, R35).

    ``fields`` are catalogue rows or ``"app_label.model.field"`` names; an unknown name is an error.
    """
    index: dict[str, CatalogRow] | None = None
    levels: list[int] = []
    for item in fields:
        if isinstance(item, CatalogRow):
            levels.append(item.level)
            continue
        index = index if index is not None else catalog_index()
        if item.lower() not in index:
            raise KeyError(f"{item} is not in the data catalogue")
        levels.append(index[item.lower()].level)
    if not levels:
        raise ValueError("a dataset needs at least one field")
    return max(levels)


def model_catalog(model: type[models.Model]) -> Catalog | None:
    return catalog_for(model)


# ---------------------------------------------------------------------------------------------
# Audit log (R49)
# ---------------------------------------------------------------------------------------------

AUDIT_FILTERS = (
    "action",
    "actor",
    "object_type",
    "object_id",
    "subject_person_id",
    "date_from",
    "date_to",
    "result",
)


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""  # username (actor_label), exact
    object_type: str = ""
    object_id: str = ""
    subject_person_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    result: str = ""

    def as_detail(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, date) else v) for k, v in self.__dict__.items() if v not in ("", None)
        }


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def audit_event_list(*, actor: Actor, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Search the audit log (audit administrators only, R46); the search itself is audited."""
    actor.require(Perm.AUDIT_VIEW)
    qs = AuditEvent.objects.all()
    if not actor.is_platform:
        qs = qs.filter(estate_id__in=estate_list(actor=actor).values("pk"))
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.actor:
        qs = qs.filter(actor_label=filters.actor)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    if filters.subject_person_id is not None:
        qs = qs.filter(subject_person_id=filters.subject_person_id)
    if filters.date_from:
        qs = qs.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(at__lt=_day_start(filters.date_to) + timedelta(days=1))
    if filters.result:
        qs = qs.filter(result=filters.result)
    audit.record(Action.AUDIT_READ, actor=actor, object_type="core.auditevent", detail=filters.as_detail())
    return qs.order_by("-at", "-id")


def audit_action_choices() -> list[str]:
    return sorted(v for k, v in vars(Action).items() if k.isupper() and isinstance(v, str))


# ---------------------------------------------------------------------------------------------
# Residents: their own person record, consents
# ---------------------------------------------------------------------------------------------


def my_person(*, actor: Actor):
    """The Person linked to a signed-in resident. Staff have no 'own' record here (403)."""
    from linli.people.models import Person

    if not actor.is_resident:
        raise PermissionDenied(_("此功能仅供居民本人使用"))
    person = Person.objects.select_related("estate").filter(user=actor.user).first()
    if person is None:
        raise NotFound(_("您的账号尚未关联住户信息，请联系物业"))
    return person


@dataclass(frozen=True)
class ConsentStatus:
    purpose: Purpose
    consent: Consent | None  # the active consent, if any

    @property
    def granted(self) -> bool:
        return self.consent is not None

    @property
    def needs_reconsent(self) -> bool:
        """The notice changed after the consent was given (R4): processing waits for renewal."""
        return self.consent is not None and self.consent.notice_version < self.purpose.version

    @property
    def effective(self) -> bool:
        return self.granted and not self.needs_reconsent


def consents_for(person) -> list[ConsentStatus]:
    """Every active purpose with the person's active consent (or None), in purpose order."""
    active = {c.purpose_id: c for c in Consent.objects.filter(person=person, withdrawn_at__isnull=True)}
    return [
        ConsentStatus(purpose=p, consent=active.get(p.pk)) for p in Purpose.objects.filter(is_active=True)
    ]


def consent_history(person) -> QuerySet[Consent]:
    return Consent.objects.filter(person=person).select_related("purpose").order_by("-granted_at", "-pk")


def purpose_get(*, code: str) -> Purpose:
    purpose = Purpose.objects.filter(code=code, is_active=True).first()
    if purpose is None:
        raise NotFound(_("没有这个处理目的"))
    return purpose


def has_consent(person, purpose_code: str) -> bool:
    """Whether processing for ``purpose_code`` may go ahead: active consent at the current notice."""
    return any(s.effective for s in consents_for(person) if s.purpose.code == purpose_code)


def current_household_ids(person) -> set[int]:
    """Households the person currently belongs to (a current occupancy in it, or its head)."""
    from linli.people.models import Household, Occupancy

    today = timezone.localdate()
    ids = set(
        Occupancy.objects.filter(person=person, household__isnull=False)
        .filter(models.Q(end_date__isnull=True) | models.Q(end_date__gte=today))
        .values_list("household_id", flat=True)
    )
    ids |= set(Household.objects.filter(head=person).values_list("pk", flat=True))
    return ids


def age_of(person, *, today: date | None = None) -> int | None:
    if person.birth_date is None:
        return None
    today = today or timezone.localdate()
    b = person.birth_date
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


MINOR_AGE = 14  # PIPL Art 28/31: under 14 needs a guardian's consent
ADULT_AGE = 18


def ward_get(*, actor: Actor, person_id: int):
    """A child under 14 in the signed-in resident's household, for whom they act as guardian (R18).

    Anyone else (another estate, another household, an adult) is simply not found.
    """
    from linli.people.models import Person

    me = my_person(actor=actor)
    child = Person.objects.filter(pk=person_id, estate_id=me.estate_id).first()
    if child is None or child.pk == me.pk:
        raise NotFound()
    age = age_of(child)
    if age is None or age >= MINOR_AGE or not (current_household_ids(me) & current_household_ids(child)):
        raise NotFound()
    return child


def consent_subject(*, actor: Actor, person_id: int | None = None):
    """(person, guardian) for a resident's consent action: themselves, or their child under 14."""
    me = my_person(actor=actor)
    if person_id is None or person_id == me.pk:
        return me, None
    return ward_get(actor=actor, person_id=person_id), me


def events_about(person, *, limit: int = 20) -> list[AuditEvent]:
    """Recent audit events whose subject is ``person`` (who looked at my data)."""
    return list(AuditEvent.objects.filter(subject_person_id=person.pk).order_by("-at", "-id")[:limit])


def subject_data(person) -> dict[str, list[dict[str, Any]]]:
    """Everything held about ``person``, by section, as flat rows. Their own values in full; other
    household members only by masked name."""
    from linli.core.pii import mask_name
    from linli.orgs.models import Organization
    from linli.orgs.roles import Role
    from linli.people.models import Occupancy, RentalRegistration

    occupancies = list(
        Occupancy.objects.filter(person=person).select_related("room").order_by("start_date", "pk")
    )
    household_ids = {o.household_id for o in occupancies if o.household_id} | current_household_ids(person)
    members = list(
        Occupancy.objects.filter(household_id__in=household_ids)
        .select_related("person", "room", "household")
        .order_by("household_id", "start_date", "pk")
    )
    rentals = list(
        RentalRegistration.objects.filter(occupancy__person=person)
        .select_related("occupancy__room")
        .order_by("contract_start", "pk")
    )
    let = list(
        RentalRegistration.objects.filter(landlord=person)
        .select_related("occupancy__room", "occupancy__person")
        .order_by("contract_start", "pk")
    )
    events = events_about(person, limit=1000)
    orgs = dict(
        Organization.objects.filter(pk__in={e.actor_org_id for e in events if e.actor_org_id}).values_list(
            "pk", "name"
        )
    )
    roles = dict(Role.choices)

    return {
        "person": [
            {
                "id": person.pk,
                "name": person.name,
                "gender": person.get_gender_display(),
                "birth_date": person.birth_date,
                "id_type": person.get_id_type_display(),
                "id_number": person.id_number,
                "phone": person.phone,
                "population_type": person.get_population_type_display(),
                "hukou_address": person.hukou_address,
                "occupation": person.occupation,
                "workplace": person.workplace,
                "estate": person.estate.name,
                "created_at": person.created_at,
                "last_verified_at": person.last_verified_at,
            }
        ],
        "occupancies": [
            {
                "standard_address": o.room.standard_address,
                "address_code": o.room.address_code,
                "relation": o.get_relation_display(),
                "start_date": o.start_date,
                "end_date": o.end_date,
            }
            for o in occupancies
        ],
        "household_members": [
            {
                "household_id": m.household_id,
                "standard_address": m.room.standard_address,
                "member": m.person.name if m.person_id == person.pk else mask_name(m.person.name),
                "is_me": m.person_id == person.pk,
                "relation": m.get_relation_display(),
                "start_date": m.start_date,
                "end_date": m.end_date,
            }
            for m in members
        ],
        "vehicles": [
            {
                "plate": v.plate,
                "kind": v.get_kind_display(),
                "color": v.color,
                "brand": v.brand,
                "created_at": v.created_at,
            }
            for v in person.vehicles.order_by("pk")
        ],
        "rental_registrations": [
            *(
                {
                    "role": _("承租人"),
                    "standard_address": r.occupancy.room.standard_address,
                    "tenant": person.name,
                    "contract_start": r.contract_start,
                    "contract_end": r.contract_end,
                    "guarantee_signed": r.guarantee_signed,
                    "status": r.get_status_display(),
                    "reported_at": r.reported_at,
                }
                for r in rentals
            ),
            *(
                {
                    "role": _("出租人"),
                    "standard_address": r.occupancy.room.standard_address,
                    "tenant": mask_name(r.occupancy.person.name),
                    "contract_start": r.contract_start,
                    "contract_end": r.contract_end,
                    "guarantee_signed": r.guarantee_signed,
                    "status": r.get_status_display(),
                    "reported_at": r.reported_at,
                }
                for r in let
            ),
        ],
        "care_tags": [
            {
                "kind": t.get_kind_display(),
                "note": t.note,
                "start_date": t.start_date,
                "end_date": t.end_date,
            }
            for t in person.care_tags.order_by("start_date", "pk")
        ],
        "consents": [
            {
                "purpose": c.purpose.code,
                "purpose_name": c.purpose.name,
                "notice_version": c.notice_version,
                "current_version": c.purpose.version,
                "granted_at": c.granted_at,
                "withdrawn_at": c.withdrawn_at,
                "channel": c.get_channel_display(),
                "by_guardian": c.guardian_id is not None,
            }
            for c in consent_history(person)
        ],
        "access_log": [
            {
                "at": e.at,
                "action": e.action,
                "result": e.result,
                "actor_role": str(roles.get(e.actor_role, e.actor_role)),
                "actor_org": orgs.get(e.actor_org_id, ""),
                "object_type": e.object_type,
                "object_id": e.object_id,
                "reason": e.reason,
            }
            for e in events
        ],
    }


# Which model each section of ``subject_data`` comes from (its purpose and retention in the catalogue).
SUBJECT_SECTIONS = [
    ("person", "people.person", _noop("基本信息")),
    ("occupancies", "people.occupancy", _noop("居住关系")),
    ("household_members", "people.household", _noop("同户成员")),
    ("vehicles", "people.vehicle", _noop("车辆")),
    ("rental_registrations", "people.rentalregistration", _noop("租赁登记")),
    ("care_tags", "people.caretag", _noop("关爱服务")),
    ("consents", "privacy.consent", _noop("同意记录")),
    ("access_log", "core.auditevent", _noop("查看记录")),
]


@dataclass(frozen=True)
class DataCategory:
    key: str
    label: str
    count: int
    purpose: str
    retention: str
    level: int
    sensitive: bool


def my_data_summary(person) -> list[DataCategory]:
    """What the platform holds about ``person`` by category, with the catalogue's purpose and retention."""
    data = subject_data(person)
    out = []
    for key, label, title in SUBJECT_SECTIONS:
        model = apps.get_model(label)
        decl = catalog_for(model)
        rows = catalog_rows_of(model)
        out.append(
            DataCategory(
                key=key,
                label=_(title),
                count=len(data[key]),
                purpose=str(decl.purpose) if decl else "",
                retention=str(decl.retention) if decl else "",
                level=max(r.level for r in rows),
                sensitive=any(r.sensitive for r in rows),
            )
        )
    return out


ACTION_LABELS = {
    Action.LOGIN: _noop("登录"),
    Action.LOGIN_FAILED: _noop("登录失败"),
    Action.LOGOUT: _noop("退出"),
    Action.LOCKOUT: _noop("账号锁定"),
    Action.PASSWORD_CHANGE: _noop("修改密码"),
    Action.TOTP_ENABLE: _noop("启用双因素认证"),
    Action.TOTP_DISABLE: _noop("停用双因素认证"),
    Action.OTP_SENT: _noop("发送验证码"),
    Action.TOKEN_CREATE: _noop("创建令牌"),
    Action.TOKEN_REVOKE: _noop("吊销令牌"),
    Action.SESSION_EXPIRED: _noop("会话超时"),
    Action.PERMISSION_CHANGE: _noop("权限变更"),
    Action.ACCOUNT_CREATE: _noop("创建账号"),
    Action.ACCOUNT_DISABLE: _noop("停用账号"),
    Action.SENSITIVE_READ: _noop("查看敏感信息"),
    Action.REVEAL: _noop("查看完整信息"),
    Action.EXPORT: _noop("导出"),
    Action.SUBJECT_EXPORT: _noop("本人数据导出"),
    Action.CONSENT_GRANT: _noop("同意"),
    Action.CONSENT_WITHDRAW: _noop("撤回同意"),
    Action.AUDIT_READ: _noop("查询审计日志"),
    Action.KEY_ROTATION: _noop("密钥轮换"),
    Action.IMPORT: _noop("批量导入"),
    Action.CREATE: _noop("新增"),
    Action.UPDATE: _noop("修改"),
    Action.DELETE: _noop("删除"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return _(label) if label else action


def category_labels() -> dict[str, str]:
    return {k: str(v) for k, v in SensitiveCategory.choices}


@dataclass(frozen=True)
class EventAboutMe:
    at: datetime
    action: str
    action_label: str
    actor_role: str
    actor_org: str
    reason: str
    result: str


def events_about_labelled(person, *, limit: int = 20) -> list[EventAboutMe]:
    """Recent events about ``person`` with role and organisation names, never staff usernames."""
    from linli.orgs.models import Organization
    from linli.orgs.roles import Role

    events = events_about(person, limit=limit)
    orgs = dict(
        Organization.objects.filter(pk__in={e.actor_org_id for e in events if e.actor_org_id}).values_list(
            "pk", "name"
        )
    )
    roles = dict(Role.choices)
    return [
        EventAboutMe(
            at=e.at,
            action=e.action,
            action_label=action_label(e.action),
            actor_role=str(roles.get(e.actor_role, e.actor_role)),
            actor_org=orgs.get(e.actor_org_id, ""),
            reason=e.reason,
            result=e.result,
        )
        for e in events
    ]
