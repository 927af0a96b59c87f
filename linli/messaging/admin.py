from django.contrib import admin

from linli.messaging.models import Delivery, Message


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "status", "attempts", "last_error", "provider_id", "not_before", "sent_at"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "category", "created_at", "read_at"]
    list_filter = ["category"]
    search_fields = ["title", "user__username"]
    raw_id_fields = ["user", "estate", "sent_by"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "channel", "status", "attempts", "not_before", "sent_at"]
    list_filter = ["channel", "status"]
    raw_id_fields = ["message"]
