"""``linli demo``: the whole platform on one machine, with a demo community, in the foreground.

    linli demo [--host 127.0.0.1] [--port 8000] [--data-dir ./linli-demo]

On a fresh data directory it migrates, generates the demo community (学府花园 and 康乐苑, ≈2,400
rooms and ≈5,000 residents; ``LINLI_DEMO_SCALE=0.05`` makes a tiny one, ``LINLI_DEMO_SEED`` changes
the people) and writes ``<data dir>/demo-accounts.json`` (mode 0600) with a login for every role.
Later runs reuse the data and the logins. It then serves the site with gunicorn (2 workers × 4
threads), prints the URL once the site answers, and runs until Ctrl-C or SIGTERM.
``--port 0`` picks a free port; a port already in use is an error (exit status 2).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _

from linli.demo import generator, property_services, server, simulator
from linli.devices.mqtt import embedded

WORKERS = 2
THREADS = 4
ACCOUNTS_FILE = "demo-accounts.json"
DEVICES_FILE = "demo-devices.json"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def logins_table(accounts: list[dict]) -> str:
    """A short aligned table: role, username, password (or phone for residents), estate or scope."""
    rows = [(_("角色"), _("用户名"), _("密码 / 手机号"), _("范围"))]
    for a in accounts:
        secret = a["password"] if a.get("password") else f"{a.get('phone', '')}（{_('短信验证码登录')}）"
        rows.append(
            (a.get("role_label") or a["role"], a["username"], secret, a.get("estate") or a.get("scope") or "")
        )
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


class Command(BaseCommand):
    help = "Run the demo: migrate, generate the demo community once, serve it and print the logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free port)")
        parser.add_argument(
            "--data-dir",
            default=None,
            help="directory for the database, keys and demo-accounts.json (default ./linli-demo)",
        )
        parser.add_argument("--seed", type=int, default=None, help="seed of the generated people and places")

    def handle(self, *args, **options) -> None:
        data_dir = Path(settings.DATA_DIR)
        if options["data_dir"] and Path(options["data_dir"]).resolve() != data_dir.resolve():
            raise CommandError(
                _("--data-dir 须在启动时给出：请用 “linli demo --data-dir …” 运行（当前数据目录 %s）")
                % data_dir
            )
        if not 0 <= options["port"] <= 65535:
            raise CommandError(_("端口须在 0–65535 之间"), returncode=2)
        try:
            sock = server.bind_socket(options["host"], options["port"])
        except server.PortInUse as exc:
            raise CommandError(
                _(
                    "无法监听 %(host)s:%(port)s：端口已被占用或无权使用（%(reason)s）。"
                    "请用 --port 换一个端口，或用 --port 0 自动选择空闲端口。"
                )
                % {"host": options["host"], "port": options["port"], "reason": exc},
                returncode=2,
            ) from exc
        except OSError as exc:
            raise CommandError(
                _("无法监听 %(host)s:%(port)s：%(reason)s")
                % {"host": options["host"], "port": options["port"], "reason": exc},
                returncode=2,
            ) from exc
        try:
            accounts = self._prepare(data_dir, seed=options["seed"])
        except BaseException:
            sock.close()
            raise
        connections.close_all()  # the server processes open their own connections

        def ready(url: str) -> None:
            self.stdout.write("")
            self.stdout.write(_("邻里 Linli 演示已启动：%s （Ctrl-C 停止）") % url)
            self.stdout.write(_("演示账号（%s）：") % (data_dir / ACCOUNTS_FILE))
            self.stdout.write(logins_table(accounts))
            self.stdout.write(_("居民在 %sh5/login 用手机号登录，验证码打印在服务器日志中。") % url)
            self.stdout.flush()

        # Devices: the embedded MQTT broker, one gateway storing what devices publish, and (once the site
        # answers, in this process after the web server has forked) the simulator playing the devices.
        broker_url, stop_broker = embedded.start_broker(data_dir)
        devices_file = data_dir / DEVICES_FILE
        simulator.write_demo_devices(devices_file, broker_url)
        children = [
            server.start_child(["worker", "--tick-seconds", "30"]),
            server.start_child(["gateway", "--id", "linli-demo-gateway"], {"LINLI_MQTT_URL": broker_url}),
        ]
        stop_simulator = []

        def ready_with_devices(url: str) -> None:
            ready(url)
            public = "mqtt://" + broker_url.split("@")[-1].split("://")[-1]
            self.stdout.write(
                _("设备接入：MQTT %(broker)s，设备清单与凭据见 %(file)s")
                % {"broker": public, "file": devices_file}
            )
            self.stdout.flush()
            stop_simulator.append(simulator.start(broker_url, data_dir))

        try:
            code = server.serve_in_child(
                sock, workers=WORKERS, threads=THREADS, proc_name="linli-demo", on_ready=ready_with_devices
            )
        finally:
            for stop in stop_simulator:
                stop()
            for child in children:
                server.stop_child(child)
            stop_broker()
        if code:
            raise SystemExit(code)

    def _prepare(self, data_dir: Path, *, seed: int | None) -> list[dict]:
        self.stdout.write(_("数据目录：%s") % data_dir)
        self.stdout.flush()
        call_command("migrate", interactive=False, verbosity=0)
        path = data_dir / ACCOUNTS_FILE
        if not generator.demo_exists():
            scale = settings.DEMO_SCALE
            self.stdout.write(_("正在生成演示数据（规模 %s）…") % scale)
            self.stdout.flush()
            result = generator.generate(
                seed=seed if seed is not None else settings.DEMO_SEED,
                scale=scale,
                log=self._log,
            )
            generator.write_accounts(path, result.accounts)
            self.stdout.write(_("正在生成物业服务演示数据（账单、工单、巡检、公告、投票）…"))
            self.stdout.flush()
            property_services.seed_all(log=self._log)
            counts = result.counts
            self.stdout.write(
                _(
                    "演示数据已生成，用时 %(s).1f 秒："
                    "%(rooms)s 套房屋，%(persons)s 位居民，%(vehicles)s 辆车。"
                )
                % {
                    "s": result.seconds,
                    "rooms": counts["rooms"],
                    "persons": counts["persons"],
                    "vehicles": counts["vehicles"],
                }
            )
        elif not path.exists():
            self.stdout.write(_("未找到 %s，已为演示账号重新生成随机密码。") % path)
            generator.write_accounts(path, generator.accounts_reset())
        else:
            self.stdout.write(_("沿用已有的演示数据。"))
        return json.loads(path.read_text(encoding="utf-8"))

    def _log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
