"""Organisation administration: memberships (who holds which role over which places) and staff accounts.

Only platform administrators change them (system administration, R46); the audit administrator can
read the audit log but never change a role or an account, and nobody changes their own roles.
Every change is audited as it happens.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.checks import RESERVED_USERNAMES
from linli.accounts.models import User, UserKind
from linli.accounts.services import tokens_revoke_all
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import strip_invisible
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.models import Membership, Organization, OrgKind
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import membership_get
from linli.places.models import Region, RegionLevel

# Which organisation kinds may hold each role.
ROLE_ORG_KINDS: dict[str, set[str]] = {
    Role.PROPERTY_ADMIN: {OrgKind.PROPERTY_COMPANY},
    Role.CUSTOMER_SERVICE: {OrgKind.PROPERTY_COMPANY},
    Role.TECHNICIAN: {OrgKind.PROPERTY_COMPANY, OrgKind.SERVICE_PROVIDER},
    Role.GUARD: {OrgKind.PROPERTY_COMPANY},
    Role.COMMUNITY_WORKER: {OrgKind.COMMUNITY_COMMITTEE},
    Role.SUBDISTRICT_OFFICER: {OrgKind.SUBDISTRICT_OFFICE},
    Role.POLICE_OFFICER: {OrgKind.POLICE_STATION},
    Role.SERVICE_PROVIDER: {OrgKind.SERVICE_PROVIDER},
    Role.PLATFORM_ADMIN: {OrgKind.PLATFORM_OPERATOR},
    Role.AUDIT_ADMIN: {OrgKind.PLATFORM_OPERATOR},
}
# Roles over the whole platform: no region scope.
PLATFORM_ROLES = {Role.PLATFORM_ADMIN, Role.AUDIT_ADMIN}
# Pairs of roles one person may never hold together (三权分立, R46).
EXCLUSIVE_ROLES = {Role.PLATFORM_ADMIN: Role.AUDIT_ADMIN, Role.AUDIT_ADMIN: Role.PLATFORM_ADMIN}
SCOPE_LEVELS = {
    RegionLevel.PROVINCE,
    RegionLevel.CITY,
    RegionLevel.DISTRICT,
    RegionLevel.STREET,
    RegionLevel.COMMUNITY,
    RegionLevel.ESTATE,
}


def _require_system_admin(actor: Actor) -> None:
    """Organisation and account changes: platform administrators only."""
    actor.require(Perm.ORGS_MANAGE, write=True)
    if not (actor.is_platform and Role.PLATFORM_ADMIN in actor.roles):
        raise PermissionDenied()


def _target_user(actor: Actor, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    if user.pk == actor.user.pk:
        raise PermissionDenied(_("不能修改自己的角色或账号状态"), code="self_change")
    return user


@transaction.atomic
def membership_grant(
    *, actor: Actor, user_id: int, organization_id: int, role: str, scope_ids: list[int]
) -> Membership:
    """Give a staff user a role in an organisation over region nodes (estate level or above).
    Re-granting an existing (user, organisation, role) re-activates it with the new scope."""
    _require_system_admin(actor)
    user = _target_user(actor, user_id)
    if user.kind != UserKind.STAFF or not user.is_active:
        raise ValidationFailed(fields={"user_id": [_("只能为在用的工作人员账号授权")]})
    org = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if org is None:
        raise ValidationFailed(fields={"organization_id": [_("组织不存在或已停用")]})
    if role not in ROLE_ORG_KINDS:
        raise ValidationFailed(fields={"role": [_("无效的角色")]})
    if org.kind not in ROLE_ORG_KINDS[role]:
        raise ValidationFailed(fields={"role": [_("该角色不能授予此类组织的成员")]})
    scope_ids = sorted(set(scope_ids))
    regions = list(Region.objects.filter(pk__in=scope_ids, level__in=SCOPE_LEVELS))
    if len(regions) != len(scope_ids):
        raise ValidationFailed(fields={"scope_ids": [_("管辖范围须为小区及以上级别的已有区域")]})
    if role in PLATFORM_ROLES and regions:
        raise ValidationFailed(fields={"scope_ids": [_("平台角色不设区域范围")]})
    if role not in PLATFORM_ROLES and not regions:
        raise ValidationFailed(fields={"scope_ids": [_("请至少选择一个管辖区域")]})
    exclusive = EXCLUSIVE_ROLES.get(role)
    if exclusive and Membership.objects.filter(user=user, role=exclusive, is_active=True).exists():
        raise Conflict(_("系统管理员与审计管理员不能由同一人兼任"), code="separation_of_duties")
    membership, _created = Membership.objects.select_for_update().get_or_create(
        user=user, organization=org, role=role
    )
    if not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active", "updated_at"])
    membership.scope.set(regions)
    audit.record(
        Action.PERMISSION_CHANGE,
        actor=actor,
        obj=membership,
        detail={
            "op": "grant",
            "user_id": user.pk,
            "organization_id": org.pk,
            "role": role,
            "scope_ids": [r.pk for r in regions],
        },
    )
    return membership


@transaction.atomic
def membership_revoke(*, actor: Actor, membership_id: int) -> Membership:
    """End a membership (kept inactive for the record)."""
    _require_system_admin(actor)
    membership = membership_get(actor=actor, membership_id=membership_id)
    if membership.user_id == actor.user.pk:
        raise PermissionDenied(_("不能修改自己的角色或账号状态"), code="self_change")
    if not membership.is_active:
        raise Conflict(_("该授权已撤销"))
    membership.is_active = False
    membership.save(update_fields=["is_active", "updated_at"])
    audit.record(
        Action.PERMISSION_CHANGE,
        actor=actor,
        obj=membership,
        detail={
            "op": "revoke",
            "user_id": membership.user_id,
            "organization_id": membership.organization_id,
            "role": membership.role,
            "scope_ids": sorted(r.pk for r in membership.scope.all()),
        },
    )
    return membership


def initial_password() -> str:
    """16 random characters with every character class (passes both password profiles)."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(not c.isalnum() for c in pw)
        ):
            return pw


@transaction.atomic
def staff_account_create(*, actor: Actor, username: str, display_name: str = "") -> tuple[User, str]:
    """Create a personal staff account with a random initial password, shown once, that must be
    changed at first sign-in (R39). Roles are granted separately."""
    _require_system_admin(actor)
    username = (username or "").strip()
    errors: list[str] = []
    if not 3 <= len(username) <= 150:
        errors.append(_("用户名长度须为 3–150 个字符"))
    try:
        UnicodeUsernameValidator()(username)
    except DjangoValidationError as exc:
        errors.extend(exc.messages)
    if username.lower() in RESERVED_USERNAMES:
        errors.append(_("不能使用共享或默认账号名"))
    if errors:
        raise ValidationFailed(fields={"username": errors})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("用户名已存在"), code="username_taken")
    password = initial_password()
    user = User(
        username=username,
        display_name=strip_invisible(display_name)[:60],
        kind=UserKind.STAFF,
        must_change_password=True,
    )
    user.set_password(password)
    user.save()
    audit.record(Action.ACCOUNT_CREATE, actor=actor, obj=user, detail={"username": username})
    return user, password


def _kill_sessions(user: User) -> int:
    """Delete every live server-side session of ``user``."""
    killed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(500):
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            killed.append(session.session_key)
    Session.objects.filter(session_key__in=killed).delete()
    return len(killed)


@transaction.atomic
def account_disable(*, actor: Actor, user_id: int, reason: str = "") -> User:
    """Disable an account: it can no longer sign in, its sessions end and its tokens are revoked (R42)."""
    _require_system_admin(actor)
    user = _target_user(actor, user_id)
    if not user.is_active:
        raise Conflict(_("账号已停用"))
    user.is_active = False
    user.save(update_fields=["is_active"])
    sessions = _kill_sessions(user)
    tokens = tokens_revoke_all(user=user)
    audit.record(
        Action.ACCOUNT_DISABLE,
        actor=actor,
        obj=user,
        reason=reason,
        detail={"sessions_ended": sessions, "tokens_revoked": tokens},
    )
    return user


def _dormant_since(user: User) -> datetime:
    """When ``user`` was last seen: the latest sign-in or API-token use, else the account's creation."""
    used = (
        user.api_tokens.exclude(last_used_at=None)
        .order_by("-last_used_at")
        .values_list("last_used_at", flat=True)
    )
    return max(t for t in (user.last_login, next(iter(used), None), user.date_joined) if t is not None)


def dormant_accounts_disable(*, now: datetime | None = None) -> list[int]:
    """Disable every active staff account not used for ``settings.DORMANT_ACCOUNT_DAYS`` days (R48):
    no sign-in and no API-token use since the cut-off (an account never used counts from its creation).
    Each is disabled like ``account_disable`` (sessions ended, tokens revoked) and audited with the
    system as actor, one transaction per account. Returns the disabled users' ids."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DORMANT_ACCOUNT_DAYS)
    candidates = (
        User.objects.filter(kind=UserKind.STAFF, is_active=True)
        .filter(Q(last_login__lt=cutoff) | Q(last_login=None, date_joined__lt=cutoff))
        .exclude(api_tokens__last_used_at__gte=cutoff)
        .order_by("pk")
    )
    disabled = []
    for user in candidates:
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            last_used = _dormant_since(user)
            if not user.is_active or last_used >= cutoff:  # used or disabled meanwhile
                continue
            user.is_active = False
            user.save(update_fields=["is_active"])
            sessions = _kill_sessions(user)
            tokens = tokens_revoke_all(user=user)
            audit.record(
                Action.ACCOUNT_DISABLE,
                obj=user,
                actor_label="system",
                reason=_("账号超过 %(n)d 天未使用，已自动停用") % {"n": settings.DORMANT_ACCOUNT_DAYS},
                detail={
                    "dormant": True,
                    "last_used": last_used.isoformat(),
                    "sessions_ended": sessions,
                    "tokens_revoked": tokens,
                },
            )
            disabled.append(user.pk)
    return disabled
