"""Default processing purposes with their first notice (R2/R3). Re-runnable: existing purposes (and
any newer notice version published since) are left untouched."""

from django.db import migrations

PROCESSOR = ("处理者：本小区物业服务企业及邻里智慧社区平台运营方；联系方式：物业服务中心前台或平台“隐私中心”"
             "中的个人信息保护负责人联系渠道。")
RIGHTS = ("您的权利：您可以随时在“隐私中心”查阅、复制、导出本人信息，要求更正或删除，并可随时撤回同意；"
          "撤回同意不影响撤回前基于同意已进行的处理，也不影响您使用其他基本物业服务。")

PURPOSES = [
    {
        "code": "face_access",
        "name": "人脸识别通行",
        "sensitive": True,
        "notice": "\n".join([
            PROCESSOR,
            "处理目的：仅用于小区出入口、单元门禁的身份核验，方便您无需携带门卡通行。",
            "处理方式：由您本人自愿上传一张人脸照片，平台加密暂存并下发到您可通行的门禁设备，由设备提取特征"
            "并在本地比对；全部设备确认接收后，平台即删除该照片，不做人脸检索，不用于任何其他用途。",
            "个人信息种类：人脸识别特征值（生物识别信息，属敏感个人信息）、所属房屋。",
            "必要性：人脸通行是可选的便利方式，您也可以使用门卡、密码或工作人员协助等其他方式通行。",
            "影响：人脸信息一旦泄露难以更改，可能被冒用；我们采取加密存储、设备本地比对、访问审计等措施降低风险。",
            "保存期限：至您撤回同意、搬离本小区或租期结束时删除，设备端同步删除。",
            RIGHTS,
        ]),
    },
    {
        "code": "health_care",
        "name": "健康数据用于关爱服务",
        "sensitive": True,
        "notice": "\n".join([
            PROCESSOR,
            "处理目的：为独居老人、慢性病患者等提供上门探访、紧急救助等关爱服务。",
            "处理方式：由社区工作人员记录必要的健康和照护信息，仅限关爱服务人员按职责查看，每次查看均记录审计日志。",
            "个人信息种类：健康状况、照护需求、紧急联系人（医疗健康信息，属敏感个人信息）。",
            "必要性：了解必要的健康状况，才能在紧急情况下及时救助并安排合适的服务。",
            "影响：健康信息泄露可能导致歧视或人身、财产损害；我们对其加密存储并严格限制查看范围。",
            "保存期限：关爱服务结束后 1 年内删除。",
            RIGHTS,
        ]),
    },
    {
        "code": "service_sharing",
        "name": "向服务商提供联系方式",
        "sensitive": False,
        "notice": "\n".join([
            PROCESSOR,
            "处理目的：在您下单家政、维修、送餐等社区服务时，向为您提供服务的服务商提供联系方式以便上门服务。",
            "处理方式：仅在您下单后向该笔订单的服务商提供，服务商不得用于营销或转交他人。",
            "接收方：您所选择的服务商（名称与联系方式在下单页面显示）。",
            "个人信息种类：姓名（称呼）、手机号、服务地址。",
            "保存期限：订单完成后 6 个月。",
            RIGHTS,
        ]),
    },
    {
        "code": "notifications",
        "name": "社区通知推送",
        "sensitive": False,
        "notice": "\n".join([
            PROCESSOR,
            "处理目的：向您推送停水停电、物业缴费、社区活动等通知。",
            "处理方式：通过短信或应用消息推送，您可随时关闭。",
            "个人信息种类：手机号、所属房屋。",
            "保存期限：至您撤回同意或注销账号。",
            RIGHTS,
        ]),
    },
]


def create_purposes(apps, schema_editor):
    Purpose = apps.get_model("privacy", "Purpose")
    for item in PURPOSES:
        Purpose.objects.get_or_create(
            code=item["code"],
            defaults={"name": item["name"], "sensitive": item["sensitive"], "notice": item["notice"],
                      "version": 1, "required_for_service": False, "is_active": True},
        )


def remove_purposes(apps, schema_editor):
    Purpose = apps.get_model("privacy", "Purpose")
    Consent = apps.get_model("privacy", "Consent")
    codes = [p["code"] for p in PURPOSES]
    Purpose.objects.filter(code__in=codes).exclude(pk__in=Consent.objects.values("purpose_id")).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]
    operations = [migrations.RunPython(create_purposes, remove_purposes)]
