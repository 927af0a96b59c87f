"""Bottom tabs of the resident H5 pages (only the ones whose pages exist)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

TABS = [
    ("home", "h5:home", _("我的家")),
    ("access", "h5access:code", _("一码通")),
    ("billing", "h5billing:home", _("缴费")),
    ("repairs", "h5repairs:home", _("报修")),
    ("notices", "h5notices:home", _("公告")),
    ("privacy", "h5privacy:home", _("隐私")),
]


def h5(request):
    if not request.path.startswith("/h5/"):
        return {}
    tabs = []
    for key, name, label in TABS:
        try:
            tabs.append({"key": key, "url": reverse(name), "label": label})
        except NoReverseMatch:
            continue
    return {"h5_tabs": tabs}
