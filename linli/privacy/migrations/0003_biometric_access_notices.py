"""Entry and exit (issue #5): the face notice says exactly what the platform does with an enrolment
photo (kept encrypted only until every door device has acknowledged it), and voiceprint access gets
its own purpose. New installations get the new face text from 0002 already; an installation still on
the old version-1 text moves to version 2 (consents given under version 1 then need renewal, R2/R4);
a notice changed by staff is left alone."""

from django.db import migrations

PROCESSOR = ("处理者：本小区物业服务企业及邻里智慧社区平台运营方；联系方式：物业服务中心前台或平台“隐私中心”"
             "中的个人信息保护负责人联系渠道。")
RIGHTS = ("您的权利：您可以随时在“隐私中心”查阅、复制、导出本人信息，要求更正或删除，并可随时撤回同意；"
          "撤回同意不影响撤回前基于同意已进行的处理，也不影响您使用其他基本物业服务。")

OLD_FACE_METHOD = "处理方式：由您本人自愿录入人脸，在门禁设备本地比对；平台不保存原始照片，不用于任何其他用途。"
NEW_FACE_METHOD = ("处理方式：由您本人自愿上传一张人脸照片，平台加密暂存并下发到您可通行的门禁设备，由设备提取特征"
                   "并在本地比对；全部设备确认接收后，平台即删除该照片，不做人脸检索，不用于任何其他用途。")

VOICE = {
    "code": "voice_access",
    "name": "声纹识别通行",
    "sensitive": True,
    "notice": "\n".join([
        PROCESSOR,
        "处理目的：仅用于单元门、楼宇对讲的身份核验，方便您说出口令即可开门。",
        "处理方式：由您本人自愿录制一段语音，平台加密暂存并下发到您可通行的门禁设备，由设备在本地比对；"
        "全部设备确认接收后，平台即删除该录音，不用于任何其他用途。",
        "个人信息种类：声纹（生物识别信息，属敏感个人信息）、所属房屋。",
        "必要性：声纹通行是可选的便利方式，您也可以使用门卡、二维码、密码或工作人员协助等其他方式通行。",
        "影响：声纹信息一旦泄露难以更改，可能被冒用；我们采取加密存储、设备本地比对、访问审计等措施降低风险。",
        "保存期限：至您撤回同意、搬离本小区或租期结束时删除，设备端同步删除。",
        RIGHTS,
    ]),
}


def forwards(apps, schema_editor):
    Purpose = apps.get_model("privacy", "Purpose")
    face = Purpose.objects.filter(code="face_access", version=1).first()
    if face is not None and OLD_FACE_METHOD in face.notice:
        face.notice = face.notice.replace(OLD_FACE_METHOD, NEW_FACE_METHOD)
        face.version = 2
        face.save(update_fields=["notice", "version"])
    Purpose.objects.get_or_create(
        code=VOICE["code"],
        defaults={"name": VOICE["name"], "sensitive": True, "notice": VOICE["notice"], "version": 1,
                  "required_for_service": False, "is_active": True},
    )


def backwards(apps, schema_editor):
    Purpose = apps.get_model("privacy", "Purpose")
    Consent = apps.get_model("privacy", "Consent")
    Purpose.objects.filter(code="voice_access").exclude(pk__in=Consent.objects.values("purpose_id")).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0002_default_purposes")]
    operations = [migrations.RunPython(forwards, backwards)]
