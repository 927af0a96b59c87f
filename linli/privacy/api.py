"""Privacy API: the data catalogue, the audit log, a resident's consents and their own data export."""

from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.pagination import paginate

from linli.core.api import ERRORS, Page, actor_of
from linli.privacy import selectors, services
from linli.privacy.exports import ExportFile
from linli.privacy.schemas import (
    AuditEventOut,
    AuditQuery,
    CatalogRowOut,
    ConsentIn,
    ConsentOut,
    ConsentWithdrawIn,
)

router = Router()


def _file(export: ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _consent_out(status: selectors.ConsentStatus) -> dict:
    c = status.consent
    return {
        "purpose": status.purpose.code,
        "name": status.purpose.name,
        "version": status.purpose.version,
        "sensitive": status.purpose.sensitive,
        "notice": status.purpose.notice,
        "granted": status.granted,
        "notice_version": c.notice_version if c else None,
        "granted_at": c.granted_at if c else None,
        "needs_reconsent": status.needs_reconsent,
        "by_guardian": bool(c and c.guardian_id),
    }


@router.get("/catalog", response={200: list[CatalogRowOut], **ERRORS})
def catalog(request: HttpRequest, level: int | None = Query(None, ge=1, le=4), sensitive_only: bool = False):
    """The data catalogue (一本账): every stored field with purpose, legal basis, level and retention."""
    return selectors.catalog_list(actor=actor_of(request), level=level, sensitive_only=sensitive_only)


@router.get("/catalog/export", response={200: None, **ERRORS})
def catalog_export(
    request: HttpRequest,
    fmt: Literal["csv", "xlsx", "json"] = Query("csv", alias="format"),
    level: int | None = Query(None, ge=1, le=4),
    sensitive_only: bool = False,
):
    """Download the catalogue as CSV, XLSX or JSON (audited)."""
    return _file(
        services.catalog_export(actor=actor_of(request), fmt=fmt, level=level, sensitive_only=sensitive_only)
    )


@router.get("/audit", response={200: list[AuditEventOut], **ERRORS})
@paginate(Page)
def audit_events(request: HttpRequest, filters: Query[AuditQuery]):
    """Search the audit log (audit administrators only); every search is itself audited."""
    return selectors.audit_event_list(
        actor=actor_of(request), filters=selectors.AuditFilters(**filters.dict())
    )


@router.get("/me/consents", response={200: list[ConsentOut], **ERRORS})
def my_consents(request: HttpRequest, person_id: int | None = Query(None, ge=1, le=2**62)):
    """My consent per purpose (or my child's under 14), with the notice text and whether it needs renewal."""
    person, _guardian = selectors.consent_subject(actor=actor_of(request), person_id=person_id)
    return [_consent_out(s) for s in selectors.consents_for(person)]


@router.post("/me/consents", response={200: ConsentOut, **ERRORS})
def grant_consent(request: HttpRequest, body: ConsentIn):
    """Give consent to one purpose at its current notice version."""
    actor = actor_of(request)
    person, guardian = selectors.consent_subject(actor=actor, person_id=body.person_id)
    purpose = selectors.purpose_get(code=body.purpose)
    services.consent_grant(actor=actor, person=person, purpose=purpose, channel="api", guardian=guardian)
    return next(_consent_out(s) for s in selectors.consents_for(person) if s.purpose.pk == purpose.pk)


@router.post("/me/consents/{purpose_code}/withdraw", response={200: ConsentOut, **ERRORS})
def withdraw_consent(request: HttpRequest, purpose_code: str, body: ConsentWithdrawIn | None = None):
    """Withdraw consent to one purpose (as easy as giving it)."""
    actor = actor_of(request)
    person, guardian = selectors.consent_subject(actor=actor, person_id=body.person_id if body else None)
    purpose = selectors.purpose_get(code=purpose_code[:48])
    services.consent_withdraw(actor=actor, person=person, purpose=purpose, channel="api", guardian=guardian)
    return next(_consent_out(s) for s in selectors.consents_for(person) if s.purpose.pk == purpose.pk)


@router.get("/me/export", response={200: None, **ERRORS})
def my_export(request: HttpRequest, fmt: Literal["json", "csv"] = Query("json", alias="format")):
    """A copy of everything held about me: JSON, or a ZIP of CSV files (audited)."""
    return _file(services.subject_export(actor=actor_of(request), fmt=fmt))
