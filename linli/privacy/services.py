"""Writes of the privacy app: consents (R2–R4, R18), notice versions, catalogue export (R1, R37) and the
resident's copy of their own data (R8). Every service audits in the same transaction.
"""

from __future__ import annotations

from dataclasses import asdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit, events
from linli.core.audit import Action
from linli.core.catalog import CatalogRow
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.privacy import exports, selectors
from linli.privacy.events import ConsentWithdrawn
from linli.privacy.exports import ExportFile
from linli.privacy.models import Consent, Purpose

# ---------------------------------------------------------------------------------------------
# Notices and consents
# ---------------------------------------------------------------------------------------------

# Sections every notice must contain (PIPL Art 17); sensitive purposes also Art 30.
NOTICE_SECTIONS = ["处理者", "处理目的", "处理方式", "个人信息种类", "保存期限", "权利"]
SENSITIVE_NOTICE_SECTIONS = ["必要性", "影响"]
CHANNELS = {"h5", "counter", "api"}


def notice_missing_sections(text: str, *, sensitive: bool) -> list[str]:
    required = NOTICE_SECTIONS + (SENSITIVE_NOTICE_SECTIONS if sensitive else [])
    return [s for s in required if s not in (text or "")]


def _check_may_act(*, actor: Actor, person, guardian, channel: str) -> None:
    """Residents act for themselves (or, as guardian, for their child); staff record at the counter."""
    if channel not in CHANNELS:
        raise ValidationFailed(fields={"channel": [_("可选值：") + ", ".join(sorted(CHANNELS))]})
    if actor.is_resident:
        me = selectors.my_person(actor=actor)
        acting_for = guardian if guardian is not None else person
        if acting_for.pk != me.pk:
            raise NotFound()
        return
    actor.require(Perm.PEOPLE_MANAGE, write=True)
    if not actor.in_scope_path(person.estate.path):
        raise NotFound()
    if channel != "counter":
        raise ValidationFailed(fields={"channel": [_("工作人员代为登记时渠道应为柜台")]})


def _check_guardian(*, person, guardian) -> None:
    """Under 14: a guardian who is an adult in the same household must consent (R18)."""
    age = selectors.age_of(person)
    if age is None or age >= selectors.MINOR_AGE:
        if guardian is not None:
            raise ValidationFailed(fields={"guardian": [_("仅不满十四周岁的未成年人需由监护人代为同意")]})
        return
    if guardian is None:
        raise ValidationFailed(fields={"guardian": [_("不满十四周岁的未成年人须由监护人同意")]})
    guardian_age = selectors.age_of(guardian)
    if guardian_age is None or guardian_age < selectors.ADULT_AGE:
        raise ValidationFailed(fields={"guardian": [_("监护人须为成年人")]})
    if not (selectors.current_household_ids(person) & selectors.current_household_ids(guardian)):
        raise ValidationFailed(fields={"guardian": [_("监护人须与未成年人同住一户")]})


@transaction.atomic
def consent_grant(*, actor: Actor, person, purpose: Purpose, channel: str, guardian=None) -> Consent:
    """Record consent to ``purpose`` at its current notice version. Idempotent for the same version;
    an older-version consent is closed and replaced (re-consent, R4)."""
    _check_may_act(actor=actor, person=person, guardian=guardian, channel=channel)
    _check_guardian(person=person, guardian=guardian)
    purpose = Purpose.objects.select_for_update().get(pk=purpose.pk)
    now = timezone.now()
    active = (
        Consent.objects.select_for_update()
        .filter(person=person, purpose=purpose, withdrawn_at__isnull=True)
        .first()
    )
    if active is not None and active.notice_version == purpose.version:
        return active
    if active is not None:
        active.withdrawn_at = now
        active.save(update_fields=["withdrawn_at"])
    consent = Consent.objects.create(
        person=person,
        purpose=purpose,
        notice_version=purpose.version,
        granted_at=now,
        channel=channel,
        given_by=actor.user,
        guardian=guardian,
    )
    audit.record(
        Action.CONSENT_GRANT,
        actor=actor,
        obj=consent,
        subject_person_id=person.pk,
        estate_id=person.estate_id,
        detail={
            "purpose": purpose.code,
            "notice_version": purpose.version,
            "channel": channel,
            "guardian_id": guardian.pk if guardian else None,
            "renewed_from": active.pk if active else None,
        },
    )
    return consent


@transaction.atomic
def consent_withdraw(
    *, actor: Actor, person, purpose: Purpose, channel: str = "h5", guardian=None
) -> Consent:
    """Withdraw the active consent: as easy as granting it (R3). The record is kept with ``withdrawn_at``."""
    _check_may_act(actor=actor, person=person, guardian=guardian, channel=channel)
    active = (
        Consent.objects.select_for_update()
        .filter(person=person, purpose=purpose, withdrawn_at__isnull=True)
        .first()
    )
    if active is None:
        raise NotFound(_("没有可撤回的同意"))
    active.withdrawn_at = timezone.now()
    active.save(update_fields=["withdrawn_at"])
    events.publish(
        ConsentWithdrawn(
            consent_id=active.pk, person_id=person.pk, purpose_code=purpose.code, actor_user_id=actor.user.pk
        )
    )
    audit.record(
        Action.CONSENT_WITHDRAW,
        actor=actor,
        obj=active,
        subject_person_id=person.pk,
        estate_id=person.estate_id,
        detail={
            "purpose": purpose.code,
            "notice_version": active.notice_version,
            "channel": channel,
            "guardian_id": guardian.pk if guardian else None,
        },
    )
    return active


@transaction.atomic
def purpose_bump_version(*, actor: Actor, purpose: Purpose, notice: str) -> Purpose:
    """Publish a new notice text for ``purpose``: the version goes up and every consent given under an
    older version needs renewal before processing continues (R2, R4)."""
    actor.require(Perm.ORGS_MANAGE, write=True)
    if not actor.is_platform:
        raise PermissionDenied()
    missing = notice_missing_sections(notice, sensitive=purpose.sensitive)
    if missing:
        raise ValidationFailed(fields={"notice": [_("告知内容缺少：") + "、".join(missing)]})
    purpose = Purpose.objects.select_for_update().get(pk=purpose.pk)
    if notice.strip() == purpose.notice.strip():
        return purpose
    Purpose.objects.filter(pk=purpose.pk).update(version=F("version") + 1, notice=notice)
    purpose.refresh_from_db()
    outdated = Consent.objects.filter(
        purpose=purpose, withdrawn_at__isnull=True, notice_version__lt=purpose.version
    ).count()
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=purpose,
        detail={"version": purpose.version, "consents_needing_renewal": outdated},
    )
    return purpose


# ---------------------------------------------------------------------------------------------
# Catalogue export (R1)
# ---------------------------------------------------------------------------------------------

CATALOG_COLUMNS = [
    "app_label",
    "model",
    "table",
    "model_verbose",
    "field",
    "column",
    "field_verbose",
    "level",
    "pi",
    "category",
    "encrypted",
    "purpose",
    "basis",
    "basis_label",
    "retention",
    "recipients",
    "note",
]
CATALOG_FORMATS = ("csv", "xlsx", "json")


def catalog_export(
    *, actor: Actor, fmt: str, level: int | None = None, sensitive_only: bool = False
) -> ExportFile:
    """The data catalogue as a file; the export is audited (R49)."""
    actor.require(Perm.CATALOG_VIEW)
    if fmt not in CATALOG_FORMATS:
        raise ValidationFailed(fields={"format": [_("可选值：") + ", ".join(CATALOG_FORMATS)]})
    rows: list[CatalogRow] = selectors.catalog_filter(
        selectors.catalog_rows(), level=level, sensitive_only=sensitive_only
    )
    data = [asdict(r) for r in rows]
    now = timezone.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    meta = {
        "exported_by": actor.user.username,
        "exported_at": now.isoformat(),
        "rows": len(rows),
        "level": level,
        "sensitive_only": sensitive_only,
    }
    if fmt == "csv":
        content = exports.to_csv(data, CATALOG_COLUMNS)
    elif fmt == "json":
        summary = selectors.catalog_summary(rows)
        content = exports.to_json({"meta": meta, "summary": asdict(summary), "rows": data})
    else:
        content = exports.to_xlsx(
            {
                "数据目录": (CATALOG_COLUMNS, data),
                "导出说明": (["key", "value"], [{"key": k, "value": v} for k, v in meta.items()]),
            }
        )
    with transaction.atomic():
        audit.record(
            Action.EXPORT,
            actor=actor,
            object_type="privacy.catalog",
            detail={"format": fmt, "rows": len(rows), "level": level, "sensitive_only": sensitive_only},
        )
    return ExportFile(
        content=content, content_type=exports.CONTENT_TYPES[fmt], filename=f"linli-data-catalog-{stamp}.{fmt}"
    )


# ---------------------------------------------------------------------------------------------
# The resident's own data (R8)
# ---------------------------------------------------------------------------------------------

# Catalogue fields a subject export contains, for its level (就高从严, R35).
SUBJECT_EXPORT_FIELDS = [
    "people.person.name",
    "people.person.gender",
    "people.person.birth_date",
    "people.person.id_type",
    "people.person.id_number",
    "people.person.phone",
    "people.person.population_type",
    "people.person.hukou_address",
    "people.person.occupation",
    "people.person.workplace",
    "people.occupancy.relation",
    "people.occupancy.start_date",
    "people.occupancy.end_date",
    "places.room.standard_address",
    "places.room.address_code",
    "people.household.room",
    "people.vehicle.plate",
    "people.vehicle.kind",
    "people.vehicle.color",
    "people.vehicle.brand",
    "people.rentalregistration.contract_start",
    "people.rentalregistration.contract_end",
    "people.rentalregistration.status",
    "people.caretag.kind",
    "people.caretag.note",
    "privacy.consent.notice_version",
    "privacy.consent.granted_at",
    "privacy.consent.withdrawn_at",
    "core.auditevent.action",
    "core.auditevent.at",
    "core.auditevent.actor_role",
]
SUBJECT_FORMATS = ("json", "csv")


def subject_export(*, actor: Actor, fmt: str = "json") -> ExportFile:
    """Everything the platform holds about the signed-in resident, as JSON or a ZIP of CSV files
    (PIPL Art 45: access, copy, portability). Their own values are not masked: it is their data."""
    if fmt not in SUBJECT_FORMATS:
        raise ValidationFailed(fields={"format": [_("可选值：") + ", ".join(SUBJECT_FORMATS)]})
    person = selectors.my_person(actor=actor)
    sections = selectors.subject_data(person)
    level = selectors.dataset_level(SUBJECT_EXPORT_FIELDS)
    now = timezone.now()
    meta = {
        "generated_at": now.isoformat(),
        "person_id": person.pk,
        "dataset_level": f"L{level}",
        "format_version": 1,
        "sections": {k: len(v) for k, v in sections.items()},
        "note": _("本文件包含您本人的完整个人信息，请妥善保管；同户其他成员的信息已去标识化。"),
    }
    with transaction.atomic():
        audit.record(
            Action.SUBJECT_EXPORT,
            actor=actor,
            obj=person,
            subject_person_id=person.pk,
            estate_id=person.estate_id,
            detail={"format": fmt, "sections": meta["sections"], "dataset_level": level},
        )
    stamp = now.strftime("%Y%m%d-%H%M%S")
    if fmt == "json":
        return ExportFile(
            content=exports.to_json({"meta": meta, **sections}),
            content_type=exports.CONTENT_TYPES["json"],
            filename=f"my-data-{stamp}.json",
        )
    return ExportFile(
        content=exports.to_csv_zip(sections, extra={"meta.json": exports.to_json(meta)}),
        content_type=exports.CONTENT_TYPES["zip"],
        filename=f"my-data-{stamp}.zip",
    )
