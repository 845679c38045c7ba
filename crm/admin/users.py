"""Django's user admin, with the user's own WhatsApp number (the morning
digest's) on the same page."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from crm.models import StaffProfile


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    fields = ["whatsapp", "daily_digest"]
    verbose_name_plural = _("WhatsApp profile")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    """Django's user admin, with the user's own WhatsApp number (morning digest)."""

    inlines = [StaffProfileInline]
