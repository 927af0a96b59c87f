"""Permissions of devices."""

from linli.core.permissions import Permissions


class DevicesPerm(Permissions):
    DEVICES_VIEW = "devices.view"
    DEVICES_MANAGE = "devices.manage"  # register, import, rotate/revoke credentials
