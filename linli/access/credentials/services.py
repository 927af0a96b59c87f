"""Non-biometric credentials (R22/R23): the resident's 一码通 identity, IC/NFC cards and PINs.

Every resident can get a QR code, a card and a PIN without any face enrolment. A resident who wants
a card or PIN instead of (or besides) the QR code asks for it (``credential_request``): the request is
a ``Credential`` row in status ``requested`` that staff with ``access.manage`` see in the console and
fulfil by issuing the card or PIN on that very row (``request=``), or refuse by revoking it.

* ``qr``: one active per person and estate; ``token`` is the opaque subject inside signed codes.
  ``qr_code_for`` signs a fresh short-lived code (TTL and page refresh from ``AccessSettings``).
* ``card``: 4–20 hex digits, encrypted, looked up by the blind index ``access_card``; one active card
  per number and estate (409 otherwise). Lists show the last 4 digits only.
* ``pin``: 6 system-generated digits, unique among the estate's active PINs, stored only as the blind
  index of ``"<estate id>:<pin>"`` (purpose ``access_pin``); shown once, when issued.

Staff need ``access.manage`` to issue, revoke and reactivate; residents read their own credentials,
fetch their own QR code and report their own card lost (``credential_suspend``). Every issue,
suspension, revocation and request is audited.
"""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.access.credentials import keys, qr
from linli.access.models import AccessSettings, Credential, CredentialKind, CredentialStatus
from linli.core import audit, crypto
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.orgs.selectors import staff_over

# A resident's pending request for a card or PIN (R22 "request an alternative"): a credential row
# with no number yet. Not matched by any decision (its blind index is empty).
STATUS_REQUESTED = "requested"
STATUS_LABELS = {**dict(CredentialStatus.choices), STATUS_REQUESTED: gettext_lazy("待发放")}
STATUSES = (*CredentialStatus.values, STATUS_REQUESTED)
REQUESTABLE = (CredentialKind.CARD, CredentialKind.PIN)

INDEX_CARD = "access_card"
INDEX_PIN = "access_pin"
PIN_LENGTH = 6
_CARD_RE = re.compile(r"^[0-9A-F]{4,20}$")
_CARD_SEPARATORS = re.compile(r"[\s:\-]")


# --- numbers, hashes, masks ------------------------------------------------------------------------


def normalize_card(number) -> str | None:
    """Card number as stored and hashed: upper-case hex digits, 4–20 long; None if malformed."""
    if not isinstance(number, str):
        return None
    text = _CARD_SEPARATORS.sub("", number).upper()
    return text if _CARD_RE.match(text) else None


def card_hash(number: str) -> str:
    return crypto.blind_index(number, purpose=INDEX_CARD)


def pin_hash(estate_id: int, pin: str) -> str:
    return crypto.blind_index(f"{estate_id}:{pin}", purpose=INDEX_PIN)


def is_pin(text) -> bool:
    return isinstance(text, str) and len(text) == PIN_LENGTH and text.isascii() and text.isdigit()


def _weak_pin(pin: str) -> bool:
    """All one digit, or a run up or down (123456, 654321): the first PINs anybody tries."""
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in itertools.pairwise(digits)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def masked_number(credential: Credential) -> str:
    """What lists show: ``****1234`` for a card, ``******`` for a PIN, nothing for a QR identity."""
    if credential.kind == CredentialKind.CARD and credential.number:
        return "*" * 4 + credential.number[-4:]
    if credential.kind == CredentialKind.PIN and credential.number_hash:
        return "*" * PIN_LENGTH
    return ""


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


# --- who is a resident -----------------------------------------------------------------------------


def current_building_ids(person_id: int, estate_id: int) -> list[int]:
    """Buildings of the person's current occupancies in the estate (empty = not a resident there)."""
    from linli.people.models import Occupancy

    return list(
        Occupancy.objects.filter(person_id=person_id, estate_id=estate_id, end_date__isnull=True)
        .order_by()
        .values_list("room__building_id", flat=True)
        .distinct()
    )


def _is_holder(person) -> bool:
    """A current resident of the person's estate, or a staff member holding a role over it."""
    from linli.access.points import policy

    if current_building_ids(person.pk, person.estate_id):
        return True
    return bool(policy.staff_roles(user_id=person.user_id, estate_path=person.estate.path))


def _my_person(actor: Actor):
    from linli.people.models import Person

    if not actor.is_resident:
        raise PermissionDenied(_("此功能仅供居民本人使用"))
    person = Person.objects.select_related("estate").filter(user=actor.user).first()
    if person is None:
        raise NotFound(_("您的账号尚未关联住户信息，请联系物业"))
    return person


def person_for_issue(*, actor: Actor, person_id: int):
    """A person in the staff member's scope (404 otherwise) to issue a credential to."""
    from linli.people.models import Person

    actor.require(Perm.ACCESS_MANAGE, write=True)
    return get_in_scope(
        Person.objects.select_related("estate"), actor=actor, path_field="estate__path", pk=person_id
    )


# --- reads -----------------------------------------------------------------------------------------


def _visible(actor: Actor) -> QuerySet[Credential]:
    actor.require(Perm.ACCESS_VIEW)
    return actor.scoped(Credential.objects.all(), "estate__path").select_related("person", "estate")


def credential_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    person_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[Credential]:
    """Credentials in scope (numbers masked by the callers). ``q``: part of the holder's name, or a
    full card number (through the blind index)."""
    if kind and kind not in CredentialKind.values:
        raise ValidationFailed(fields={"kind": [_("无效的选项")]})
    if status and status not in STATUSES:
        raise ValidationFailed(fields={"status": [_("无效的选项")]})
    qs = _visible(actor)
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()[:50]
    if q:
        cond = Q(person__name__contains=q)
        number = normalize_card(q)
        if number:
            cond |= Q(kind=CredentialKind.CARD, number_hash=card_hash(number))
        qs = qs.filter(cond)
    return qs.order_by("-created_at", "-pk")


def credential_get(*, actor: Actor, pk: int) -> Credential:
    """One credential: staff within scope; a resident only their own (404 otherwise)."""
    if actor.is_resident and not actor.has(Perm.ACCESS_VIEW):
        me = _my_person(actor)
        row = Credential.objects.select_related("person", "estate").filter(pk=pk, person=me).first()
        if row is None:
            raise NotFound()
        return row
    return get_in_scope(_visible(actor), actor=actor, path_field="estate__path", pk=pk)


def my_credentials(*, actor: Actor) -> list[Credential]:
    """The signed-in resident's own credentials, newest first."""
    me = _my_person(actor)
    return list(
        Credential.objects.filter(person=me, estate_id=me.estate_id)
        .select_related("person", "estate")
        .order_by("-created_at", "-pk")
    )


def access_settings(estate_id: int) -> AccessSettings:
    row, _created = AccessSettings.objects.get_or_create(estate_id=estate_id)
    return row


# --- the 一码通 identity and its codes -------------------------------------------------------------


def _new_qr(person, *, issued_by=None) -> Credential:
    return Credential.objects.create(
        estate_id=person.estate_id,
        person=person,
        kind=CredentialKind.QR,
        token=qr.new_subject_token(),
        issued_by=issued_by,
        path=person.estate.path,
    )


def qr_identity(person) -> Credential:
    """The person's active 一码通 credential, created on first use. A QR identity that staff have
    suspended or revoked is not silently replaced: the resident is told to contact the office."""
    row = Credential.objects.filter(
        person=person, estate_id=person.estate_id, kind=CredentialKind.QR, status=CredentialStatus.ACTIVE
    ).first()
    if row is not None:
        return row
    if Credential.objects.filter(person=person, estate_id=person.estate_id, kind=CredentialKind.QR).exists():
        raise Conflict(_("您的一码通已被停用，请联系物业"), code="credential_inactive")
    try:
        with transaction.atomic():
            row = _new_qr(person)
    except IntegrityError:  # a concurrent first request created it
        row = Credential.objects.get(
            person=person, estate_id=person.estate_id, kind=CredentialKind.QR, status=CredentialStatus.ACTIVE
        )
    else:
        audit.record(
            Action.CREATE,
            actor=None,
            actor_label="system",
            obj=row,
            subject_person_id=person.pk,
            detail={"kind": "qr", "first_use": True},
        )
    return row


def qr_code_for(*, actor: Actor, person=None) -> tuple[str, datetime, int]:
    """A fresh signed 一码通 code: ``(code text, expires at, seconds until the page refreshes)``.

    A resident gets their own code (``person`` defaults to them; anybody else is 404). Staff with
    ``access.manage`` may produce one for a person in scope (e.g. to print for an elderly resident).
    """
    if actor.is_resident and not actor.has(Perm.ACCESS_MANAGE):
        me = _my_person(actor)
        if person is not None and person.pk != me.pk:
            raise NotFound()
        person = me
    else:
        if person is None:  # staff have no 一码通 of their own here
            raise PermissionDenied(_("此功能仅供居民本人使用"))
        person = person_for_issue(actor=actor, person_id=person.pk)
    if not _is_holder(person):
        raise Conflict(_("没有有效的入住登记，无法生成通行码"), code="not_resident")
    credential = qr_identity(person)
    if credential.valid_until is not None and credential.valid_until <= timezone.now():
        raise Conflict(_("您的一码通已过期，请联系物业"), code="credential_inactive")
    cfg = access_settings(person.estate_id)
    now = int(timezone.now().timestamp())
    expires = now + max(int(cfg.qr_ttl_seconds), 5)
    code = keys.sign_for(
        person.estate_id, kind=qr.KIND_RESIDENT, subject=credential.token, issued_at=now, expires_at=expires
    )
    refresh = max(1, min(int(cfg.qr_refresh_seconds), int(cfg.qr_ttl_seconds)))
    return code, datetime.fromtimestamp(expires, UTC), refresh


# --- issuing ---------------------------------------------------------------------------------------


def _audit(action: str, *, actor: Actor, credential: Credential, reason: str = "", **detail) -> None:
    audit.record(
        action,
        actor=actor,
        obj=credential,
        subject_person_id=credential.person_id,
        reason=reason,
        detail={"kind": credential.kind, "status": credential.status, **detail},
    )


def _open_request(*, person, kind: str, request: Credential | None) -> Credential | None:
    if request is None:
        return None
    locked = Credential.objects.select_for_update().filter(pk=request.pk).first()
    if locked is None or locked.status != STATUS_REQUESTED:
        raise Conflict(_("该申请已处理"))
    if locked.person_id != person.pk or locked.kind != kind:
        raise ValidationFailed(fields={"request_id": [_("申请与所选人员或凭证类型不符")]})
    return locked


def _check_holder(person) -> None:
    if not _is_holder(person):
        raise ValidationFailed(fields={"person_id": [_("该人员在本小区没有有效的入住登记或工作岗位")]})


@transaction.atomic
def credential_issue_qr(*, actor: Actor, person) -> Credential:
    """Issue (or re-issue) a person's 一码通 identity. The previous active one is revoked, so codes
    already shown on a lost phone stop working."""
    person = person_for_issue(actor=actor, person_id=person.pk)
    _check_holder(person)
    now = timezone.now()
    old = list(
        Credential.objects.select_for_update().filter(
            person=person, estate_id=person.estate_id, kind=CredentialKind.QR, status=CredentialStatus.ACTIVE
        )
    )
    for row in old:
        row.status, row.revoked_at, row.revoked_reason = CredentialStatus.REVOKED, now, "reissued"
        row.save(update_fields=["status", "revoked_at", "revoked_reason", "updated_at"])
        _audit(Action.UPDATE, actor=actor, credential=row, reason="reissued")
    row = _new_qr(person, issued_by=actor.user)
    _audit(Action.CREATE, actor=actor, credential=row)
    return row


@transaction.atomic
def credential_issue_card(
    *,
    actor: Actor,
    person,
    number: str,
    label: str = "",
    valid_until: datetime | None = None,
    request: Credential | None = None,
) -> Credential:
    """Issue an IC/NFC card (4–20 hex digits) to a resident or staff member of the estate. The same
    number may be active only once per estate (409). ``request`` fulfils a resident's request."""
    person = person_for_issue(actor=actor, person_id=person.pk)
    normal = normalize_card(number)
    if normal is None:
        raise ValidationFailed(fields={"number": [_("卡号应为 4–20 位数字或十六进制字符")]})
    if valid_until is not None and valid_until <= timezone.now():
        raise ValidationFailed(fields={"valid_until": [_("有效期须晚于当前时间")]})
    _check_holder(person)
    pending = _open_request(person=person, kind=CredentialKind.CARD, request=request)
    digest = card_hash(normal)
    if Credential.objects.filter(
        estate_id=person.estate_id,
        kind=CredentialKind.CARD,
        number_hash=digest,
        status=CredentialStatus.ACTIVE,
    ).exists():
        raise Conflict(_("该卡号已在本小区使用"), code="card_in_use")
    row = pending or Credential(estate_id=person.estate_id, person=person, kind=CredentialKind.CARD)
    row.number, row.number_hash, row.status = normal, digest, CredentialStatus.ACTIVE
    row.label = (label or row.label or "").strip()[:50]
    row.valid_until, row.issued_by, row.path = valid_until, actor.user, person.estate.path
    row.revoked_at, row.revoked_reason = None, ""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(_("该卡号已在本小区使用"), code="card_in_use") from None
    _audit(Action.CREATE, actor=actor, credential=row, fulfils_request=pending is not None)
    return row


def _new_pin(estate_id: int) -> tuple[str, str]:
    for _attempt in range(50):
        pin = f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"
        if _weak_pin(pin):
            continue
        digest = pin_hash(estate_id, pin)
        if not Credential.objects.filter(
            estate_id=estate_id, kind=CredentialKind.PIN, number_hash=digest, status=CredentialStatus.ACTIVE
        ).exists():
            return pin, digest
    raise Conflict(_("暂时无法生成唯一的密码，请稍后再试"))


@transaction.atomic
def credential_issue_pin(
    *, actor: Actor, person, label: str = "", request: Credential | None = None
) -> tuple[Credential, str]:
    """Generate a 6-digit PIN for a person; returns (credential, PIN). The PIN is not stored (only its
    keyed hash), so this is the only time anybody sees it."""
    person = person_for_issue(actor=actor, person_id=person.pk)
    _check_holder(person)
    pending = _open_request(person=person, kind=CredentialKind.PIN, request=request)
    row = pending or Credential(estate_id=person.estate_id, person=person, kind=CredentialKind.PIN)
    row.label = (label or row.label or "").strip()[:50]
    row.status, row.issued_by, row.path = CredentialStatus.ACTIVE, actor.user, person.estate.path
    row.revoked_at, row.revoked_reason = None, ""
    for _attempt in range(5):
        pin, row.number_hash = _new_pin(person.estate_id)
        try:
            with transaction.atomic():
                row.save()
            break
        except IntegrityError:  # the same PIN was issued concurrently
            continue
    else:
        raise Conflict(_("暂时无法生成唯一的密码，请稍后再试"))
    _audit(Action.CREATE, actor=actor, credential=row, fulfils_request=pending is not None)
    return row, pin


# --- lifecycle -------------------------------------------------------------------------------------


def _lock(credential: Credential) -> Credential:
    return Credential.objects.select_for_update().select_related("person", "estate").get(pk=credential.pk)


@transaction.atomic
def credential_suspend(*, actor: Actor, credential: Credential, reason: str = "") -> Credential:
    """挂失: stop an active credential at once. Staff with ``access.manage`` may suspend any
    credential in scope; a resident only their own card."""
    if actor.is_resident and not actor.has(Perm.ACCESS_MANAGE):
        me = _my_person(actor)
        if credential.person_id != me.pk:
            raise NotFound()
        if credential.kind != CredentialKind.CARD:
            raise PermissionDenied(_("居民只能挂失自己的门禁卡"))
    else:
        actor.require(Perm.ACCESS_MANAGE, write=True)
    row = _lock(credential)
    if row.status != CredentialStatus.ACTIVE:
        raise Conflict(_("只有有效的凭证可以挂失"))
    row.status, row.revoked_at = CredentialStatus.SUSPENDED, timezone.now()
    row.revoked_reason = (reason or "lost").strip()[:100]
    row.save(update_fields=["status", "revoked_at", "revoked_reason", "updated_at"])
    _audit(Action.UPDATE, actor=actor, credential=row, reason=row.revoked_reason)
    return row


@transaction.atomic
def credential_revoke(*, actor: Actor, credential: Credential, reason: str) -> Credential:
    """注销 a credential for good (or refuse a resident's request). Needs a reason."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("请填写注销原因")]})
    row = _lock(credential)
    if row.status == CredentialStatus.REVOKED:
        raise Conflict(_("该凭证已注销"))
    row.status, row.revoked_at, row.revoked_reason = CredentialStatus.REVOKED, timezone.now(), reason[:100]
    row.save(update_fields=["status", "revoked_at", "revoked_reason", "updated_at"])
    _audit(Action.UPDATE, actor=actor, credential=row, reason=row.revoked_reason)
    return row


@transaction.atomic
def credential_reactivate(*, actor: Actor, credential: Credential) -> Credential:
    """Undo a suspension (the card was found). A revoked credential stays revoked."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    row = _lock(credential)
    if row.status != CredentialStatus.SUSPENDED:
        raise Conflict(_("只有已挂失的凭证可以恢复"))
    row.status, row.revoked_at, row.revoked_reason = CredentialStatus.ACTIVE, None, ""
    try:
        with transaction.atomic():
            row.save(update_fields=["status", "revoked_at", "revoked_reason", "updated_at"])
    except IntegrityError:
        raise Conflict(_("该卡号或一码通已有另一条有效凭证"), code="credential_in_use") from None
    _audit(Action.UPDATE, actor=actor, credential=row, reason="reactivate")
    return row


@transaction.atomic
def credentials_revoke_for_person(*, person, reason: str = "moved_out") -> int:
    """Revoke every credential of a person who left the estate (called by the move-out flow)."""
    now = timezone.now()
    rows = list(
        Credential.objects.select_for_update().filter(person=person).exclude(status=CredentialStatus.REVOKED)
    )
    for row in rows:
        row.status, row.revoked_at, row.revoked_reason = CredentialStatus.REVOKED, now, reason[:100]
        row.save(update_fields=["status", "revoked_at", "revoked_reason", "updated_at"])
        audit.record(
            Action.UPDATE,
            actor=None,
            actor_label="system",
            obj=row,
            subject_person_id=person.pk,
            reason=reason[:300],
            detail={"kind": row.kind, "status": row.status},
        )
    return len(rows)


# --- a resident's request for a card or PIN (R22) --------------------------------------------------


@transaction.atomic
def credential_request(*, actor: Actor, kind: str, note: str = "") -> tuple[Credential, bool]:
    """A resident asks for an IC card or a PIN (e.g. instead of face recognition, or without a phone).
    Returns (request, created); an open request of the same kind is returned as it is."""
    me = _my_person(actor)
    if kind not in REQUESTABLE:
        raise ValidationFailed(fields={"kind": [_("可申请门禁卡（card）或密码（pin）")]})
    if not current_building_ids(me.pk, me.estate_id):
        raise Conflict(_("没有有效的入住登记，无法申请门禁凭证"), code="not_resident")
    existing = Credential.objects.filter(person=me, kind=kind, status=STATUS_REQUESTED).first()
    if existing is not None:
        return existing, False
    row = Credential.objects.create(
        estate_id=me.estate_id,
        person=me,
        kind=kind,
        label=(note or "").strip()[:50],
        status=STATUS_REQUESTED,
        path=me.estate.path,
    )
    _audit(Action.CREATE, actor=actor, credential=row, request=True)
    from django.urls import reverse

    from linli.messaging.services import message_send

    label = _("门禁卡") if kind == CredentialKind.CARD else _("通行密码")
    message_send(
        recipients=staff_over(me.estate, perm=Perm.ACCESS_MANAGE),
        title=_("住户申请%(what)s") % {"what": label},
        body=_("%(estate)s 有住户申请%(what)s，请在“门禁凭证”中发放。")
        % {"estate": me.estate.name, "what": label},
        link=reverse("access:credentials") + f"?status={STATUS_REQUESTED}",
        estate=me.estate,
        category="access_request",
    )
    return row, True
