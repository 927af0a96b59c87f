"""Built-in device profiles: one per device type, points (key, unit, range) and events as data.

Re-runnable: profiles are matched on ``key`` and only created when missing, so staff edits of a
built-in profile's ranges survive a re-run.
"""

from django.db import migrations


def num(key, name, unit, lo, hi):
    return {"key": key, "name": name, "unit": unit, "kind": "number", "min": lo, "max": hi}


def flag(key, name):
    return {"key": key, "name": name, "unit": "", "kind": "bool"}


def enum(key, name, values):
    return {"key": key, "name": name, "unit": "", "kind": "enum", "values": values}


def text(key, name):
    return {"key": key, "name": name, "unit": "", "kind": "text"}


def ev(key, name, severity):
    return {"key": key, "name": name, "severity": severity}


BATTERY = num("battery", "电池电量", "%", 0, 100)
RSSI = num("rssi", "信号强度", "dBm", -140, 0)
SIGNAL = num("signal", "信号质量", "", 0, 100)
COMMON_EVENTS = [
    ev("low_battery", "电池欠压", "warning"),
    ev("low_battery_clear", "电池欠压恢复", "warning"),
    ev("tamper", "防拆报警", "minor"),
    ev("tamper_clear", "防拆恢复", "minor"),
    ev("fault", "设备故障", "minor"),
    ev("fault_clear", "故障恢复", "minor"),
]

PROFILES = [
    {
        "key": "smoke", "name": "独立式光电感烟火灾探测报警器", "device_type": "smoke", "offline_after_minutes": 1500,
        "points": [
            num("smoke_density", "烟雾浓度", "%obs/m", 0, 100),
            num("temperature", "温度", "°C", -40, 125),
            BATTERY, RSSI,
            num("snr", "信噪比", "dB", -30, 50),
            num("csq", "CSQ", "", 0, 99),
            num("alarm_status", "报警状态码", "", 0, 255),
        ],
        "events": [
            ev("smoke_alarm", "烟雾报警", "critical"),
            ev("smoke_alarm_clear", "烟雾报警恢复", "critical"),
            ev("heat_alarm", "高温报警", "major"),
            ev("heat_alarm_clear", "高温报警恢复", "major"),
            ev("self_test", "自检", "warning"),
            ev("silenced", "消音", "warning"),
            ev("sos", "紧急求助", "major"),
            *COMMON_EVENTS,
        ],
    },
    {
        "key": "gas", "name": "点型可燃气体探测器", "device_type": "gas", "offline_after_minutes": 1500,
        "points": [num("gas_concentration", "可燃气体浓度", "%LEL", 0, 100), BATTERY, RSSI],
        "events": [ev("gas_alarm", "燃气泄漏报警", "critical"), ev("gas_alarm_clear", "燃气报警恢复", "critical"),
                   ev("valve_closed", "切断阀已关闭", "major"), *COMMON_EVENTS],
    },
    {
        "key": "temperature", "name": "温湿度传感器", "device_type": "temperature", "offline_after_minutes": 60,
        "points": [num("temperature", "温度", "°C", -40, 150), num("humidity", "相对湿度", "%RH", 0, 100), BATTERY, RSSI],
        "events": [ev("over_temperature", "超温报警", "major"), ev("over_temperature_clear", "超温恢复", "major"),
                   *COMMON_EVENTS],
    },
    {
        "key": "water_pressure", "name": "消防水压监测终端（消火栓/喷淋）", "device_type": "water_pressure",
        "offline_after_minutes": 120,
        "points": [num("pressure", "水压", "MPa", 0, 1.6), num("water_level", "液位", "m", 0, 20), BATTERY, RSSI],
        "events": [ev("low_pressure", "水压过低", "major"), ev("low_pressure_clear", "水压恢复", "major"),
                   ev("high_pressure", "水压过高", "minor"), ev("high_pressure_clear", "水压恢复", "minor"),
                   ev("leak", "漏水", "major"), *COMMON_EVENTS],
    },
    {
        "key": "water_meter", "name": "NB-IoT 远传水表", "device_type": "water_meter", "offline_after_minutes": 1500,
        "points": [num("cumulative_flow", "累计流量", "m³", 0, 99999999),
                   enum("valve_state", "阀门状态", ["open", "closed", "fault"]), flag("battery_low", "电池欠压"), RSSI],
        "events": [ev("valve_fault", "阀门故障", "minor"), ev("reverse_flow", "倒流", "warning"),
                   ev("leak", "疑似漏水", "minor"), *COMMON_EVENTS],
    },
    {
        "key": "electricity_meter", "name": "智能电表", "device_type": "electricity_meter", "offline_after_minutes": 120,
        "points": [num("active_energy", "正向有功总电能", "kWh", 0, 99999999), num("active_power", "有功功率", "kW", -1000, 1000),
                   num("voltage", "电压", "V", 0, 450), num("current", "电流", "A", 0, 1000),
                   num("power_factor", "功率因数", "", -1, 1), RSSI],
        "events": [ev("power_loss", "停电", "minor"), ev("power_loss_clear", "来电", "minor"),
                   ev("relay_open", "拉闸", "warning"), *COMMON_EVENTS],
    },
    {
        "key": "elevator", "name": "电梯物联网监测终端", "device_type": "elevator", "offline_after_minutes": 10,
        "points": [text("floor", "楼层"), flag("door_open", "门开"), flag("running", "运行中"),
                   enum("direction", "方向", ["up", "down", "none"]),
                   enum("service_mode", "服务模式", ["normal", "inspection", "fire", "maintenance", "out_of_service"]),
                   flag("door_zone", "平层区"), flag("passenger", "轿厢有人"), num("load", "载重", "%", 0, 150),
                   text("fault_code", "故障代码")],
        "events": [ev("trapped", "困人", "critical"), ev("trapped_clear", "困人解除", "critical"),
                   ev("door_open_running", "开门走梯", "critical"), ev("overspeed", "超速", "critical"),
                   ev("over_travel_top", "冲顶", "critical"), ev("over_travel_bottom", "蹲底", "critical"),
                   ev("stopped_outside_zone", "非平层停梯", "major"), ev("power_loss", "电梯停电", "major"),
                   ev("alarm_button", "轿厢报警按钮", "major"), ev("fault", "电梯故障", "major"),
                   ev("fault_clear", "故障恢复", "major")],
    },
    {
        "key": "door_magnet", "name": "门磁", "device_type": "door_magnet", "offline_after_minutes": 1500,
        "points": [flag("open", "门开"), BATTERY, RSSI],
        "events": [ev("opened", "开门", "warning"), ev("closed", "关门", "warning"),
                   ev("forced_open", "非法开门", "major"), *COMMON_EVENTS],
    },
    {
        "key": "sos_button", "name": "紧急呼叫按钮", "device_type": "sos_button", "offline_after_minutes": 1500,
        "health_sensitive": True,
        "points": [BATTERY, RSSI],
        "events": [ev("sos", "紧急呼叫", "critical"), ev("sos_cancel", "呼叫取消", "critical"), *COMMON_EVENTS],
    },
    {
        "key": "wearable", "name": "老人智能手环/手表", "device_type": "wearable", "offline_after_minutes": 60,
        "health_sensitive": True,
        "points": [num("heart_rate", "心率", "bpm", 20, 250), num("spo2", "血氧饱和度", "%", 50, 100),
                   num("body_temperature", "体温", "°C", 30, 45), num("steps", "步数", "步", 0, 200000),
                   flag("worn", "佩戴中"), BATTERY, RSSI],
        "events": [ev("sos", "一键求助", "critical"), ev("fall", "跌倒", "critical"),
                   ev("heart_rate_abnormal", "心率异常", "major"), ev("off_wrist", "摘除", "minor"),
                   ev("low_battery", "电池欠压", "warning")],
    },
    {
        "key": "camera", "name": "网络摄像机", "device_type": "camera", "offline_after_minutes": 10,
        "points": [flag("recording", "录像中"), num("storage_free", "存储剩余", "%", 0, 100)],
        "events": [ev("video_loss", "视频丢失", "major"), ev("tamper", "遮挡/防拆", "major"),
                   ev("intrusion", "区域入侵", "major"), ev("tripwire", "越界", "minor"),
                   ev("motion", "移动侦测", "warning"), ev("disk_fault", "硬盘故障", "minor"),
                   ev("fault", "设备故障", "minor"), ev("fault_clear", "故障恢复", "minor")],
    },
    {
        "key": "electrical_fire", "name": "电气火灾监控探测器", "device_type": "electrical_fire",
        "offline_after_minutes": 60,
        "points": [
            num("residual_current", "剩余电流", "mA", 0, 3000),
            *[num(f"residual_current_{i}", f"剩余电流 通道{i}", "mA", 0, 3000) for i in range(1, 5)],
            num("cable_temperature", "线缆温度", "°C", -40, 200),
            *[num(f"cable_temperature_{i}", f"线缆温度 通道{i}", "°C", -40, 200) for i in range(1, 5)],
            *[num(f"cable_temperature_{p}", f"线缆温度 {p.upper()}", "°C", -40, 200) for p in ("a", "b", "c", "n")],
            num("ambient_temperature", "箱体温度", "°C", -40, 200),
            *[num(f"voltage_{p}", f"电压 {p.upper()}", "V", 0, 500) for p in ("a", "b", "c", "ab", "bc", "ca")],
            num("current", "电流", "A", 0, 1000),
            *[num(f"current_{p}", f"电流 {p.upper()}", "A", 0, 1000) for p in ("a", "b", "c")],
            num("active_power", "总有功功率", "kW", -1000, 1000),
            num("power_factor", "功率因数", "", -1, 1),
            num("active_energy", "总有功电能", "kWh", 0, 99999999),
            SIGNAL,
        ],
        "events": [
            ev("leakage", "剩余电流超限", "major"), ev("leakage_clear", "剩余电流恢复", "major"),
            ev("over_temperature", "线缆超温", "major"), ev("over_temperature_clear", "超温恢复", "major"),
            ev("under_temperature", "温度过低", "minor"), ev("under_temperature_clear", "低温恢复", "minor"),
            ev("over_current", "过流", "major"), ev("over_current_clear", "过流恢复", "major"),
            ev("power_loss", "断电", "major"), ev("power_loss_clear", "来电", "major"),
            ev("short_circuit", "短路", "critical"), ev("overload", "过载", "major"),
            ev("over_voltage", "过压", "minor"), ev("under_voltage", "欠压", "minor"),
            ev("poor_contact", "超温或接触不良", "major"), ev("phase_loss", "缺相", "major"),
            ev("imbalance", "三相不平衡", "minor"), ev("neutral_miswiring", "零线错接", "minor"),
            ev("alarm", "报警", "major"), ev("manual_alarm", "手动报警", "major"), ev("hazard", "隐患", "minor"),
            ev("masked", "屏蔽", "warning"), ev("unmasked", "解除屏蔽", "warning"),
            ev("supervisory", "监管", "minor"), ev("supervisory_clear", "监管恢复", "minor"),
            ev("reset", "复位", "warning"), ev("silenced", "消音", "warning"), ev("alarm_cleared", "报警清除", "warning"),
            ev("monitor_offline", "监控器离线", "minor"), ev("monitor_online", "监控器上线", "minor"),
            ev("pgm_on", "联动输出开", "warning"), ev("pgm_off", "联动输出关", "warning"),
            *COMMON_EVENTS,
        ],
    },
    {
        "key": "fire_panel", "name": "火灾报警控制器（用户信息传输装置）", "device_type": "fire_panel",
        "offline_after_minutes": 30,
        "points": [SIGNAL, num("analog_value", "部件模拟量", "", -100000, 100000)],
        "events": [
            ev("fire_alarm", "火警", "critical"), ev("fire_alarm_clear", "火警恢复", "critical"),
            ev("early_warning", "预警", "major"),
            ev("fault", "故障", "minor"), ev("fault_clear", "故障恢复", "minor"),
            ev("disabled", "屏蔽", "warning"), ev("disabled_clear", "屏蔽解除", "warning"),
            ev("supervisory", "监管", "minor"), ev("supervisory_clear", "监管恢复", "minor"),
            ev("started", "启动", "warning"), ev("feedback", "反馈", "warning"),
            ev("power_fault", "电源故障", "major"), ev("reset", "复位", "warning"), ev("silenced", "消音", "warning"),
            ev("sos", "紧急求助", "critical"), ev("tamper", "防拆报警", "minor"),
            ev("component_action", "部件动作", "warning"), ev("status_report", "状态上报", "warning"),
        ],
    },
    {
        "key": "generic", "name": "通用设备", "device_type": "generic", "offline_after_minutes": 30,
        "points": [num("value", "数值", "", -1e9, 1e9), num("temperature", "温度", "°C", -60, 200),
                   num("humidity", "相对湿度", "%RH", 0, 100), BATTERY, RSSI, num("liquid_level", "液位", "cm", 0, 100000)],
        "events": [ev("alarm", "报警", "major"), ev("alarm_clear", "报警恢复", "major"), ev("info", "信息", "warning"),
                   *COMMON_EVENTS],
    },
]


def create_profiles(apps, schema_editor):
    DeviceProfile = apps.get_model("devices", "DeviceProfile")
    for spec in PROFILES:
        defaults = {
            "name": spec["name"],
            "device_type": spec["device_type"],
            "points": spec["points"],
            "events": spec["events"],
            "offline_after_minutes": spec["offline_after_minutes"],
            "health_sensitive": spec.get("health_sensitive", False),
            "builtin": True,
        }
        DeviceProfile.objects.get_or_create(key=spec["key"], defaults=defaults)


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [migrations.RunPython(create_profiles, migrations.RunPython.noop)]
