from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from linli.accounts.models import User


@admin.register(User)
class LinliUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "kind", "is_active", "last_login")
    list_filter = ("kind", "is_active")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Linli", {"fields": ("kind", "display_name", "must_change_password")}),
    )
