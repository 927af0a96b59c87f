from django.contrib import admin

from linli.orgs.models import Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "is_active")
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "credit_code", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "credit_code")
    filter_horizontal = ("regions",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "is_active", "updated_at")
    list_filter = ("role", "is_active", "organization__kind")
    search_fields = ("user__username", "user__display_name", "organization__name")
    raw_id_fields = ("user",)
    filter_horizontal = ("scope",)
