"""Default profile-level alarm rules for the built-in device profiles, and the ruleset token row.

Re-runnable: a rule is matched on (profile, cause, kind, point, event) and only created when missing,
so staff edits of a default rule survive a re-run. Profiles that do not exist are skipped.
"""

from django.db import migrations

NIGHT = {"days": [1, 2, 3, 4, 5, 6, 7], "ranges": [["23:00", "06:00"]]}

# (profile key, cause, name, kind, fields)
RULES = [
    (
        "smoke",
        "fire",
        "烟感报警（火警）",
        "event",
        {
            "event": "smoke_alarm",
            "clear_event": "smoke_alarm_clear",
            "severity": "critical",
            "notify_channels": ["console", "sms", "webhook"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "smoke",
        "fire",
        "烟雾浓度超限且温度快速上升（火警）",
        "combination",
        {
            "point": "smoke_density",
            "operator": "gt",
            "value": 10.0,
            "event": "smoke_alarm",
            "rise_point": "temperature",
            "rise": 10.0,
            "window_s": 300,
            "scope": "room",
            "severity": "critical",
            "auto_clear": False,
            "notify_channels": ["console", "sms", "webhook"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "smoke",
        "low_battery",
        "烟感电池欠压",
        "event",
        {
            "event": "low_battery",
            "clear_event": "low_battery_clear",
            "severity": "warning",
            "notify_channels": ["console"],
        },
    ),
    (
        "gas",
        "gas_leak",
        "可燃气体浓度超限",
        "threshold",
        {
            "point": "gas_concentration",
            "operator": "ge",
            "value": 25.0,
            "severity": "critical",
            "notify_channels": ["console", "sms", "webhook"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "gas",
        "gas_leak",
        "燃气泄漏报警",
        "event",
        {
            "event": "gas_alarm",
            "clear_event": "gas_alarm_clear",
            "severity": "critical",
            "notify_channels": ["console", "sms", "webhook"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "water_pressure",
        "low_pressure",
        "消防水压低于 0.1 MPa 持续 5 分钟",
        "duration",
        {
            "point": "pressure",
            "operator": "lt",
            "value": 0.1,
            "duration_s": 300,
            "severity": "major",
            "notify_channels": ["console"],
            "escalate_after_minutes": 30,
        },
    ),
    (
        "electrical_fire",
        "electrical_fire_risk",
        "剩余电流超过 300 mA",
        "threshold",
        {
            "point": "residual_current",
            "operator": "gt",
            "value": 300.0,
            "severity": "major",
            "notify_channels": ["console", "sms"],
            "escalate_after_minutes": 30,
        },
    ),
    *[
        (
            "electrical_fire",
            "electrical_fire_risk",
            f"剩余电流超过 300 mA（通道{i}）",
            "threshold",
            {
                "point": f"residual_current_{i}",
                "operator": "gt",
                "value": 300.0,
                "severity": "major",
                "notify_channels": ["console", "sms"],
                "escalate_after_minutes": 30,
            },
        )
        for i in range(1, 5)
    ],
    (
        "electrical_fire",
        "cable_overheat",
        "线缆温度超过 70 °C",
        "threshold",
        {
            "point": "cable_temperature",
            "operator": "gt",
            "value": 70.0,
            "severity": "major",
            "notify_channels": ["console", "sms"],
            "escalate_after_minutes": 30,
        },
    ),
    *[
        (
            "electrical_fire",
            "cable_overheat",
            f"线缆温度超过 70 °C（通道{i}）",
            "threshold",
            {
                "point": f"cable_temperature_{i}",
                "operator": "gt",
                "value": 70.0,
                "severity": "major",
                "notify_channels": ["console", "sms"],
                "escalate_after_minutes": 30,
            },
        )
        for i in range(1, 5)
    ],
    (
        "elevator",
        "elevator_fault",
        "电梯故障（故障代码非 0）",
        "threshold",
        {
            "point": "fault_code",
            "operator": "ne",
            "value": 0.0,
            "severity": "major",
            "equipment_fault": True,
            "notify_channels": ["console"],
            "escalate_after_minutes": 30,
        },
    ),
    (
        "elevator",
        "elevator_trapped",
        "电梯困人",
        "event",
        {
            "event": "trapped",
            "clear_event": "trapped_clear",
            "severity": "critical",
            "notify_channels": ["console", "sms", "webhook"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "wearable",
        "health_sos",
        "老人一键求助",
        "event",
        {
            "event": "sos",
            "severity": "critical",
            "auto_clear": False,
            "notify_channels": ["console", "sms"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "wearable",
        "health_fall",
        "老人跌倒",
        "event",
        {
            "event": "fall",
            "severity": "critical",
            "auto_clear": False,
            "notify_channels": ["console", "sms"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "sos_button",
        "health_sos",
        "紧急呼叫按钮",
        "event",
        {
            "event": "sos",
            "clear_event": "sos_cancel",
            "severity": "critical",
            "notify_channels": ["console", "sms"],
            "escalate_after_minutes": 5,
        },
    ),
    (
        "door_magnet",
        "door_open_night",
        "夜间门磁打开（23:00–06:00）",
        "threshold",
        {
            "point": "open",
            "operator": "eq",
            "value": 1.0,
            "severity": "minor",
            "schedule": NIGHT,
            "notify_channels": ["console"],
        },
    ),
]
LOW_BATTERY = ["gas", "temperature", "water_pressure", "door_magnet", "sos_button", "wearable"]
OFFLINE = [
    "smoke",
    "gas",
    "temperature",
    "water_pressure",
    "water_meter",
    "electricity_meter",
    "elevator",
    "door_magnet",
    "sos_button",
    "wearable",
    "camera",
    "electrical_fire",
    "fire_panel",
]
EXTRA = [
    (
        "fire_panel",
        "fire",
        "火灾报警控制器火警",
        "event",
        {
            "event": "fire_alarm",
            "clear_event": "fire_alarm_clear",
            "severity": "critical",
            "notify_channels": ["console", "sms", "webhook"],
            "escalate_after_minutes": 5,
        },
    ),
    *[
        (
            key,
            "low_battery",
            "电池欠压",
            "event",
            {
                "event": "low_battery",
                "clear_event": "low_battery_clear",
                "severity": "warning",
                "notify_channels": ["console"],
            },
        )
        for key in LOW_BATTERY
    ],
    *[
        (key, "offline", "设备离线", "offline", {"severity": "minor", "notify_channels": ["console"]})
        for key in OFFLINE
    ],
]


def create_rules(apps, schema_editor):
    DeviceProfile = apps.get_model("devices", "DeviceProfile")
    AlarmRule = apps.get_model("alarms", "AlarmRule")
    RulesetVersion = apps.get_model("alarms", "RulesetVersion")
    profiles = {p.key: p for p in DeviceProfile.objects.all()}
    for key, cause, name, kind, fields in [*RULES, *EXTRA]:
        profile = profiles.get(key)
        if profile is None:
            continue
        events = {e.get("key") for e in profile.events}
        points = {p.get("key") for p in profile.points}
        if fields.get("event") and fields["event"] not in events:
            continue
        if kind != "combination" and fields.get("point") and fields["point"] not in points:
            continue
        AlarmRule.objects.get_or_create(
            profile=profile,
            device=None,
            cause=cause,
            kind=kind,
            point=fields.get("point", ""),
            event=fields.get("event", ""),
            defaults={"name": name, "builtin": True, **fields},
        )
    RulesetVersion.objects.get_or_create(pk=1, defaults={"token": "initial"})


class Migration(migrations.Migration):
    dependencies = [("alarms", "0001_initial"), ("devices", "0002_builtin_profiles")]

    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
