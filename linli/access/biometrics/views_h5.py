"""Resident phone pages of the optional face and voiceprint access (in the 一码通 area, namespace
``h5access``): ``biometrics`` (overview), ``face`` (人脸通行（可选）) and ``voice`` (声纹通行（可选）).

Each page shows the purpose's own notice (purpose, method, kinds of data, retention, necessity,
impact, rights, contact), the equal alternatives (card, 一码通, PIN, staff-assisted: refusing changes
nothing, R24), a separate consent checkbox that is never pre-ticked next to the upload, the state of
the enrolment on the doors, and a withdraw button that deletes the enrolment from every door device.
A parent can act for a child under 14 of their household (``?person=<id>``, R18).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from linli.access import pages
from linli.access.biometrics import services as biometrics
from linli.access.models import Modality
from linli.core.errors import Conflict, PayloadTooLarge, ValidationFailed
from linli.core.views import positive_int, resident_page

TITLES = {Modality.FACE: gettext_lazy("人脸通行（可选）"), Modality.VOICE: gettext_lazy("声纹通行（可选）")}
LABELS = {Modality.FACE: gettext_lazy("人脸"), Modality.VOICE: gettext_lazy("声纹")}
UPLOAD = {
    Modality.FACE: ("photo", "image/jpeg,image/png", biometrics.PHOTO_MAX_BYTES),
    Modality.VOICE: ("sample", "audio/wav,audio/x-wav,.wav", biometrics.VOICE_MAX_BYTES),
}
DEVICE_ERRORS = {
    "noFaceDetected": gettext_lazy("门禁设备未在照片中检测到人脸，请换一张正面、光线充足的照片重新上传"),
    "deviceUserAlreadyExistFace": gettext_lazy("门禁设备上已有人脸，请撤回后重新录入"),
    "deviceCardFull": gettext_lazy("门禁设备存储已满，请联系物业"),
}


def _url(name: str, person_id: int | None) -> str:
    url = reverse(f"h5access:{name}")
    return f"{url}?person={person_id}" if person_id else url


def _page(request, actor, modality: str):
    person_id = positive_int(request.GET.get("person"))
    person, statuses = biometrics.biometric_status(actor=actor, person_id=person_id)
    status = next(s for s in statuses if s.modality == modality)
    me, _guardian = biometrics.acting_for(actor, None)
    field, accept, limit = UPLOAD[modality]
    return render(
        request,
        "access/h5/biometric.html",
        {
            "h5_tab": "access",
            "modality": modality,
            "title": TITLES[modality],
            "label": LABELS[modality],
            "s": status,
            "person": person,
            "acting_for_child": person.pk != me.pk,
            "wards": biometrics.wards_of(me),
            "person_param": person.pk if person.pk != me.pk else None,
            "field": field,
            "accept": accept,
            "limit_mb": f"{limit / 1024 / 1024:g}",
            "device_errors": [DEVICE_ERRORS.get(e, e) for e in status.device_errors],
            "enrol_url": reverse(f"h5access:{modality}_enrol"),
            "withdraw_url": reverse(f"h5access:{modality}_withdraw"),
        },
    )


@resident_page
@require_GET
def overview(request, actor):
    person_id = positive_int(request.GET.get("person"))
    person, statuses = biometrics.biometric_status(actor=actor, person_id=person_id)
    me, _guardian = biometrics.acting_for(actor, None)
    return render(
        request,
        "access/h5/biometrics.html",
        {
            "h5_tab": "access",
            "rows": [
                {
                    "s": s,
                    "title": TITLES[s.modality],
                    "url": _url(s.modality, person.pk if person.pk != me.pk else None),
                }
                for s in statuses
            ],
            "person": person,
            "acting_for_child": person.pk != me.pk,
            "wards": biometrics.wards_of(me),
        },
    )


@resident_page
@require_GET
def face(request, actor):
    return _page(request, actor, Modality.FACE)


@resident_page
@require_GET
def voice(request, actor):
    return _page(request, actor, Modality.VOICE)


def _enrol(request, actor, modality: str):
    person_id = positive_int(request.POST.get("person"))
    back = _url(modality, person_id)
    field = UPLOAD[modality][0]
    upload = request.FILES.get(field)
    consent = request.POST.get("consent") == "on"
    try:
        if upload is None:
            raise ValidationFailed(fields={field: [_("请选择要上传的文件")]})
        if upload.size is not None and upload.size > UPLOAD[modality][2]:
            raise PayloadTooLarge(
                _("文件不能超过 %(mb)s MB") % {"mb": f"{UPLOAD[modality][2] / 1024 / 1024:g}"}
            )
        biometrics.biometric_enrol(
            actor=actor,
            modality=modality,
            data=upload.read(UPLOAD[modality][2] + 1),
            person_id=person_id,
            grant_consent=consent,
            channel="h5",
        )
    except (ValidationFailed, Conflict, PayloadTooLarge) as exc:
        messages.error(request, pages.error(exc))
        return redirect(back)
    messages.success(request, _("已提交，正在下发到您可通行的门禁设备，稍后可在本页查看结果"))
    return redirect(back)


def _withdraw(request, actor, modality: str):
    person_id = positive_int(request.POST.get("person"))
    queued = biometrics.biometric_withdraw(actor=actor, modality=modality, person_id=person_id, channel="h5")
    messages.success(
        request,
        _("已撤回同意并删除%(label)s信息，已通知 %(n)d 台门禁设备移除")
        % {"label": LABELS[modality], "n": queued},
    )
    return redirect(_url(modality, person_id))


@resident_page
@require_POST
def face_enrol(request, actor):
    return _enrol(request, actor, Modality.FACE)


@resident_page
@require_POST
def voice_enrol(request, actor):
    return _enrol(request, actor, Modality.VOICE)


@resident_page
@require_POST
def face_withdraw(request, actor):
    return _withdraw(request, actor, Modality.FACE)


@resident_page
@require_POST
def voice_withdraw(request, actor):
    return _withdraw(request, actor, Modality.VOICE)


urlpatterns = [
    path("biometrics/", overview, name="biometrics"),
    path("face/", face, name="face"),
    path("face/enrol/", face_enrol, name="face_enrol"),
    path("face/withdraw/", face_withdraw, name="face_withdraw"),
    path("voice/", voice, name="voice"),
    path("voice/enrol/", voice_enrol, name="voice_enrol"),
    path("voice/withdraw/", voice_withdraw, name="voice_withdraw"),
]
