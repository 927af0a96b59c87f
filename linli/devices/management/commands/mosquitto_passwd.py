"""``linli mosquitto_passwd FILE``: Mosquitto's password file from the device registry.

    linli mosquitto_passwd /etc/mosquitto/linli.passwd --account linli-gateway=$GATEWAY_PASSWORD
    kill -HUP $(cat /run/mosquitto/mosquitto.pid)     # Mosquitto re-reads it

Every active device gets username = device key, password = its secret; disabled and revoked devices
are left out. ``--account user=password`` adds the platform's own accounts (gateways); without any,
the user and password of ``LINLI_MQTT_URL`` are added. Run it after registering, rotating or
revoking devices (e.g. from cron every minute) and send Mosquitto SIGHUP.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from linli.devices.mqtt import config
from linli.devices.mqtt.embedded import device_credentials
from linli.devices.mqtt.mosquitto import write_password_file


class Command(BaseCommand):
    help = "Write a Mosquitto password file (PBKDF2-SHA512) for every active device and the gateways."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="password file to write (replaced atomically, mode 0600)")
        parser.add_argument("--account", action="append", default=[], help="extra user=password (repeatable)")

    def handle(self, *args, path: str, account: list[str], **options) -> None:
        accounts = device_credentials()
        extra: dict[str, str] = {}
        for item in account:
            user, sep, password = item.partition("=")
            if not sep or not user or not password:
                raise CommandError("--account takes user=password", returncode=2)
            extra[user] = password
        if not extra:
            broker = config.broker_from_env()
            if broker.username and broker.password:
                extra[broker.username] = broker.password
        clash = set(extra) & set(accounts)
        if clash:
            raise CommandError(f"account names clash with device keys: {sorted(clash)}", returncode=2)
        accounts.update(extra)
        n = write_password_file(path, accounts)
        self.stdout.write(f"{path}: {n} accounts ({n - len(extra)} devices)")
