"""Console pages for places: region tree, room list and detail, room spreadsheet import.

Thin views: build the actor, call selectors/services, render. Scope and permissions are enforced in
the selectors and services; a domain NotFound becomes a 404 page, PermissionDenied a 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from linli.core.errors import PayloadTooLarge, ValidationFailed
from linli.core.listing import list_page
from linli.core.permissions import Perm
from linli.core.pii import mask_name
from linli.core.tabular import check_size, template_download
from linli.core.views import positive_int, staff_page
from linli.people import selectors as people_selectors
from linli.places import imports, selectors, services
from linli.places.models import RoomStatus, RoomUse
from linli.places.schemas import ImportFilters, RoomFilters

PAGE_SIZE = 50


def _person_url(person_id: int) -> str | None:
    try:
        return reverse("people:person_detail", args=[person_id])
    except NoReverseMatch:
        return None


@staff_page
def tree(request, actor):
    nodes = selectors.region_tree(actor=actor)
    return render(request, "places/tree.html", {"nodes": nodes})


@staff_page
def region_detail(request, actor, pk: int):
    detail = selectors.region_detail(actor=actor, pk=pk)
    return render(request, "places/region_detail.html", {"r": detail})


ROOM_SORTS = [
    ("location", gettext_lazy("位置")),
    ("number", gettext_lazy("房号")),
    ("floor", gettext_lazy("楼层")),
    ("area", gettext_lazy("面积")),
    ("-area", gettext_lazy("面积（大到小）")),
    ("status", gettext_lazy("状态")),
    ("use", gettext_lazy("用途")),
    ("-created_at", gettext_lazy("最近登记")),
]


@staff_page
def rooms(request, actor):
    def room_rows(f: RoomFilters):
        ordering = f.ordering or selectors.ROOM_DEFAULT_ORDERING
        return selectors.room_list(actor=actor, **f.selector_args(exclude={"ordering"}), ordering=ordering)

    listing = list_page(request, room_rows, RoomFilters, page_size=PAGE_SIZE)
    f = listing.filters
    estates = list(selectors.estate_list(actor=actor, perm=Perm.PLACES_VIEW))
    buildings = list(selectors.building_list(actor=actor, estate=f.estate)) if f.estate else []
    return render(
        request,
        "places/rooms.html",
        {
            "page": listing.page,
            "filters": f,
            "ordering": f.ordering or selectors.ROOM_DEFAULT_ORDERING,
            "sorts": ROOM_SORTS,
            "estates": estates,
            "buildings": buildings,
            "statuses": RoomStatus.choices,
            "uses": RoomUse.choices,
            "query": listing.query,
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def room_detail(request, actor, pk: int):
    room = selectors.room_get(actor=actor, pk=pk)
    if request.method == "POST":
        try:
            services.room_update(
                actor=actor,
                room=room,
                area=request.POST.get("area") or None,
                use=request.POST.get("use") or None,
                status=request.POST.get("status") or None,
            )
        except ValidationFailed as exc:
            for errs in exc.fields.values():
                for e in errs:
                    messages.error(request, e)
            room.refresh_from_db()
        else:
            messages.success(request, _("已保存"))
            return redirect("places:room_detail", pk=room.pk)
    occupants = [
        {
            "name": mask_name(o.person.name),
            "relation": o.get_relation_display(),
            "start_date": o.start_date,
            "end_date": o.end_date,
            "url": _person_url(o.person_id),
        }
        for o in people_selectors.room_occupants(actor=actor, room=room)
    ]
    return render(
        request,
        "places/room_detail.html",
        {
            "room": room,
            "occupants": occupants,
            "can_see_people": actor.has(Perm.PEOPLE_VIEW),
            "can_manage": actor.has(Perm.PLACES_MANAGE) and not actor.read_only,
            "parking": list(selectors.parking_list(actor=actor, room=room.pk)),
            "facilities": list(selectors.facility_list(actor=actor, building=room.building_id)),
            "statuses": RoomStatus.choices,
            "uses": RoomUse.choices,
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def imports_page(request, actor):
    estates = list(selectors.estate_list(actor=actor, perm=Perm.PLACES_VIEW))
    if request.method == "POST":
        upload = request.FILES.get("file")
        estate_id = positive_int(request.POST.get("estate"))
        if upload is None or estate_id is None:
            messages.error(request, _("请选择小区并选择要上传的文件"))
        else:
            try:
                estate = selectors.estate_get(actor=actor, pk=estate_id, perm=Perm.PLACES_VIEW)
                check_size(upload.size)
                job = services.rooms_import(
                    actor=actor, estate=estate, file_name=upload.name or "", data=upload.read()
                )
            except PayloadTooLarge as exc:
                messages.error(request, exc.message)
            else:
                if job.status == job.Status.APPLIED:
                    messages.success(request, _("导入成功：新增 %(n)d 套房屋") % {"n": job.created_count})
                else:
                    messages.error(request, _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(job.errors)})
                return redirect("places:import_detail", pk=job.pk)
    return render(
        request,
        "places/imports.html",
        {
            "page": list_page(
                request,
                lambda f: selectors.import_job_list(actor=actor, **f.selector_args()),
                ImportFilters,
                page_size=20,
            ).page,
            "estates": estates,
            "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
            "max_rows": settings.IMPORT_MAX_ROWS,
            "columns": [h for h, _a in imports.COLUMNS.values()],
        },
    )


@staff_page
def import_detail(request, actor, pk: int):
    job = selectors.import_job_get(actor=actor, pk=pk)
    return render(request, "places/import_detail.html", {"job": job})


@staff_page
def import_template(request, actor):
    return template_download(selectors.import_template(actor=actor), "rooms-template.xlsx")
