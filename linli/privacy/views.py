"""Pages of the privacy app: the audit log and the data catalogue in the staff console, and the
residents' privacy centre (隐私中心) in H5."""

from __future__ import annotations

from itertools import groupby

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from linli.core.catalog import Level, PIType
from linli.core.listing import page_of
from linli.core.views import resident_page, staff_page
from linli.orgs.roles import Perm
from linli.privacy import selectors, services
from linli.privacy.exports import ExportFile

AUDIT_PAGE_SIZE = 50


def _file(export: ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Console: audit log
# ---------------------------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label=gettext_lazy("操作"))
    actor = forms.CharField(required=False, max_length=150, label=gettext_lazy("操作人"))
    object_type = forms.CharField(required=False, max_length=64, label=gettext_lazy("对象类型"))
    object_id = forms.CharField(required=False, max_length=64, label=gettext_lazy("对象编号"))
    subject_person_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**62, label=gettext_lazy("涉及人员编号")
    )
    date_from = forms.DateField(
        required=False, label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=gettext_lazy("结束日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    result = forms.ChoiceField(
        required=False,
        label=gettext_lazy("结果"),
        choices=[
            ("", gettext_lazy("全部")),
            ("success", gettext_lazy("成功")),
            ("failure", gettext_lazy("失败")),
            ("denied", gettext_lazy("拒绝")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部"))] + [
            (a, f"{selectors.action_label(a)} ({a})") for a in selectors.audit_action_choices()
        ]


@staff_page
@require_GET
def audit(request, actor):
    actor.require(Perm.AUDIT_VIEW)
    form = AuditFilterForm(request.GET or None)
    page = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        filters = selectors.AuditFilters(**{k: v for k, v in data.items() if v not in (None, "")})
        qs = selectors.audit_event_list(actor=actor, filters=filters)
        page = page_of(request, qs, page_size=AUDIT_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "privacy/audit.html", {"form": form, "page": page, "query": query.urlencode()})


# ---------------------------------------------------------------------------------------------
# Console: data catalogue
# ---------------------------------------------------------------------------------------------


def _catalog_params(request) -> tuple[int | None, bool]:
    raw = request.GET.get("level", "")
    level = int(raw) if raw in {str(v) for v in Level.values} else None
    return level, request.GET.get("sensitive") == "1"


@staff_page
@require_GET
def catalog(request, actor):
    level, sensitive_only = _catalog_params(request)
    all_rows = selectors.catalog_list(actor=actor)
    rows = selectors.catalog_filter(all_rows, level=level, sensitive_only=sensitive_only)
    groups = [
        {"label": key, "rows": list(items)}
        for key, items in groupby(rows, key=lambda r: f"{r.app_label}.{r.model}")
    ]
    for g in groups:
        first = g["rows"][0]
        g.update(
            verbose=first.model_verbose,
            table=first.table,
            purpose=first.purpose,
            level=selectors.dataset_level(g["rows"]),
        )
    query = request.GET.copy()
    return render(
        request,
        "privacy/catalog.html",
        {
            "groups": groups,
            "summary": selectors.catalog_summary(all_rows),
            "shown": len(rows),
            "level": level,
            "sensitive_only": sensitive_only,
            "levels": Level.choices,
            "pi_labels": dict(PIType.choices),
            "category_labels": selectors.category_labels(),
            "problems": selectors.catalog_problems(),
            "query": query.urlencode(),
        },
    )


@staff_page
@require_GET
def catalog_export(request, actor):
    level, sensitive_only = _catalog_params(request)
    fmt = request.GET.get("format", "csv")
    return _file(services.catalog_export(actor=actor, fmt=fmt, level=level, sensitive_only=sensitive_only))


# ---------------------------------------------------------------------------------------------
# H5: privacy centre
# ---------------------------------------------------------------------------------------------


@resident_page
@require_GET
def h5_home(request, actor):
    person = selectors.my_person(actor=actor)
    return render(
        request,
        "privacy/h5/home.html",
        {
            "h5_tab": "privacy",
            "summary": selectors.my_data_summary(person),
            "consents": selectors.consents_for(person),
            "events": selectors.events_about_labelled(person, limit=20),
        },
    )


@resident_page
@require_GET
def h5_export(request, actor):
    return _file(services.subject_export(actor=actor, fmt=request.GET.get("format", "json")))


@resident_page
@require_POST
def h5_consent_grant(request, actor, code: str):
    person, guardian = selectors.consent_subject(actor=actor)
    purpose = selectors.purpose_get(code=code)
    services.consent_grant(actor=actor, person=person, purpose=purpose, channel="h5", guardian=guardian)
    messages.success(request, _("已同意：%(name)s") % {"name": purpose.name})
    return redirect("h5privacy:home")


@resident_page
@require_POST
def h5_consent_withdraw(request, actor, code: str):
    person, guardian = selectors.consent_subject(actor=actor)
    purpose = selectors.purpose_get(code=code)
    services.consent_withdraw(actor=actor, person=person, purpose=purpose, channel="h5", guardian=guardian)
    messages.success(request, _("已撤回同意：%(name)s") % {"name": purpose.name})
    return redirect("h5privacy:home")
