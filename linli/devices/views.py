"""Device console pages: devices grouped by building and floor, device detail (health, credentials
actions, events, rejected messages, a telemetry chart per numeric point), register, import, profiles.

A new or rotated secret is rendered in the answer to the POST itself (``Cache-Control: no-store``),
never stored in the session and never shown again: reloading the detail page does not show it.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from linli.core.errors import DomainError, NotFound, PayloadTooLarge, PermissionDenied
from linli.core.listing import list_page, page_of
from linli.core.models import ImportJob
from linli.core.tabular import check_size, template_download
from linli.core.views import error_text
from linli.devices import imports, selectors, services, vendors
from linli.devices.models import DeviceStatus, DeviceType
from linli.devices.schemas import DeviceFilters
from linli.orgs.roles import Perm
from linli.orgs.selectors import actor_for_user
from linli.places.selectors import estate_get, estate_list

PAGE_SIZE = 200


def page(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.must_change_password:
            return redirect("accounts:password_change")
        actor = actor_for_user(request.user)
        try:
            return view(request, actor, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def _int(value, lo: int = 1, hi: int = 2**63 - 1) -> int | None:
    try:
        n = int(value or "")
    except (TypeError, ValueError):
        return None
    return n if lo <= n <= hi else None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@page
def device_list(request, actor):
    def devices(f: DeviceFilters):  # grouped by building and floor: the page keeps its own order
        return selectors.device_list(actor=actor, **f.selector_args(exclude={"ordering"}))

    listing = list_page(request, devices, DeviceFilters, page_size=PAGE_SIZE)
    return render(
        request,
        "devices/list.html",
        {
            "page": listing.page,
            "groups": selectors.devices_by_building(listing.page.object_list),
            "counts": selectors.device_counts(devices(listing.filters)),
            "filters": request.GET,
            "query": listing.query,
            "estates": estate_list(actor=actor, perm=Perm.DEVICES_VIEW),
            "buildings": selectors.building_list(actor=actor, estate=listing.filters.estate),
            "device_types": DeviceType.choices,
            "statuses": DeviceStatus.choices,
            "can_manage": actor.has(Perm.DEVICES_MANAGE),
        },
    )


def _detail(request, actor, device, *, credentials=None, status: int = 200):
    readings = selectors.can_see_readings(actor, device)
    ctx = {
        "device": device,
        "can_manage": actor.has(Perm.DEVICES_MANAGE),
        "readings": readings,
        "points": selectors.numeric_points(device) if readings else [],
        "events": selectors.device_events(actor=actor, device=device, limit=20) if readings else [],
        "recent": selectors.device_telemetry_recent(actor=actor, device=device, limit=10) if readings else [],
        "rejected": selectors.rejected_messages(actor=actor, device=device, limit=20) if readings else [],
        "credentials": credentials,
    }
    return _no_store(render(request, "devices/detail.html", ctx, status=status))


@page
def device_detail(request, actor, pk: int):
    device = selectors.device_get(actor=actor, pk=pk)
    return _detail(request, actor, device)


@page
@require_POST
def device_act(request, actor, pk: int, op: str):
    """Credential and status actions; ``rotate`` answers with the new secret, once."""
    if op not in ("rotate", "revoke", "enable", "disable"):
        raise Http404()
    actor.require(Perm.DEVICES_MANAGE, write=True)
    device = selectors.device_get(actor=actor, pk=pk)
    try:
        if op == "rotate":
            creds = services.device_rotate_credentials(actor=actor, device=device)
            messages.success(request, _("已生成新密钥，旧密钥立即失效"))
            return _detail(request, actor, selectors.device_get(actor=actor, pk=pk), credentials=creds)
        if op == "revoke":
            services.device_revoke(actor=actor, device=device, reason=request.POST.get("reason", "")[:300])
            messages.success(request, _("设备凭据已吊销"))
        else:
            services.device_set_enabled(actor=actor, device=device, enabled=op == "enable")
            messages.success(request, _("已启用设备") if op == "enable" else _("已停用设备"))
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        messages.error(request, error_text(exc))
    return redirect("devices:detail", pk=pk)


@page
@require_http_methods(["GET", "POST"])
def device_create(request, actor):
    actor.require(Perm.DEVICES_MANAGE, write=request.method == "POST")
    form = request.POST if request.method == "POST" else request.GET
    errors: list[str] = []
    if request.method == "POST":
        estate_id, profile_id = _int(form.get("estate")), _int(form.get("profile"))
        floor_raw = (form.get("floor") or "").strip()
        floor = _int(floor_raw, -20, 300)
        if estate_id is None or profile_id is None:
            errors.append(_("请选择小区和设备类型"))
        elif floor_raw and floor is None:
            errors.append(_("楼层应在 -20 到 300 之间"))
        else:
            try:
                refs = selectors.placement_resolve(
                    actor=actor,
                    estate=estate_id,
                    profile=profile_id,
                    building=_int(form.get("building")),
                    room=_int(form.get("room")),
                )
                creds = services.device_create(
                    actor=actor,
                    estate=refs.estate,
                    profile=refs.profile,
                    name=form.get("name", ""),
                    key=form.get("key", "").replace("\x00", ""),
                    building=refs.building,
                    floor=floor,
                    room=refs.room,
                    location=form.get("location", "").replace("\x00", ""),
                    adapter=form.get("adapter", "generic") or "generic",
                    vendor_id=form.get("vendor_id", "").replace("\x00", ""),
                )
            except NotFound:
                errors.append(_("所选小区、楼栋或房屋不存在或不在您的管辖范围内"))
            except DomainError as exc:
                if isinstance(exc, PermissionDenied):
                    raise
                errors.append(error_text(exc))
            else:
                messages.success(request, _("设备已登记"))
                device = selectors.device_get(actor=actor, pk=creds.device.pk)
                return _detail(request, actor, device, credentials=creds, status=201)
    return render(
        request,
        "devices/create.html",
        {
            "form": form,
            "errors": errors,
            "estates": estate_list(actor=actor, perm=Perm.DEVICES_VIEW),
            "buildings": selectors.building_list(actor=actor),
            "profiles": selectors.profile_list(actor=actor),
            "adapters": vendors.adapter_keys(),
        },
        status=400 if errors else 200,
    )


@page
@require_http_methods(["GET", "POST"])
def devices_import(request, actor):
    actor.require(Perm.DEVICES_MANAGE, write=request.method == "POST")
    outcome = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        estate_id = _int(request.POST.get("estate"))
        if upload is None or estate_id is None:
            messages.error(request, _("请选择小区并选择要上传的文件"))
        else:
            try:
                check_size(upload.size)
            except PayloadTooLarge as exc:
                messages.error(request, exc.message)
            else:
                estate = estate_get(actor=actor, pk=estate_id, perm=Perm.DEVICES_VIEW)
                outcome = services.devices_import(
                    actor=actor, estate=estate, file_name=upload.name or "", data=upload.read()
                )
        if outcome is not None:
            if outcome.job.status == ImportJob.Status.APPLIED:
                messages.success(request, _("导入成功：登记 %(n)d 台设备") % {"n": outcome.job.created_count})
            else:
                messages.error(
                    request, _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(outcome.job.errors)}
                )
    jobs = page_of(request, selectors.import_job_list(actor=actor), page_size=20)
    response = render(
        request,
        "devices/import.html",
        {
            "outcome": outcome,
            "page": jobs,
            "estates": estate_list(actor=actor, perm=Perm.DEVICES_VIEW),
            "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
            "max_rows": settings.IMPORT_MAX_ROWS,
            "columns": list(imports.SPEC.headers().values()),
        },
        status=400 if outcome is not None and outcome.job.status == ImportJob.Status.REJECTED else 200,
    )
    return _no_store(response)


@page
def import_template(request, actor):
    actor.require(Perm.DEVICES_MANAGE)
    return template_download(services.import_template_csv(), "devices-template.csv")


@page
@never_cache
@require_http_methods(["GET", "POST"])
def profiles(request, actor):
    can_manage = actor.has(Perm.DEVICES_MANAGE)
    if request.method == "POST":
        actor.require(Perm.DEVICES_MANAGE, write=True)
        profile = selectors.profile_get(actor=actor, pk=_int(request.POST.get("profile")) or 0)
        ranges: dict[str, tuple] = {}
        bad = False
        for p in selectors.numeric_points_of(profile):
            bounds = []
            for side in ("min", "max"):
                raw = (request.POST.get(f"{p['key']}_{side}") or "").strip()
                try:
                    bounds.append(float(raw) if raw else None)
                except ValueError:
                    bad = True
                    bounds.append(None)
            ranges[p["key"]] = tuple(bounds)
        if bad:
            messages.error(request, _("量程必须是数字"))
        else:
            try:
                services.profile_update_ranges(actor=actor, profile=profile, ranges=ranges)
            except DomainError as exc:
                if isinstance(exc, PermissionDenied | NotFound):
                    raise
                messages.error(request, error_text(exc))
            else:
                messages.success(request, _("已保存“%(p)s”的量程") % {"p": profile.name})
        return redirect(f"{request.path}#p{profile.pk}")
    return render(
        request,
        "devices/profiles.html",
        {"profiles": selectors.profile_list(actor=actor), "can_manage": can_manage},
    )
