"""Login protection (django-axes): its place in the admin, and the lockout page."""

from math import ceil

from axes.apps import AppConfig as AxesAppConfig
from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext


class LoginProtectionConfig(AxesAppConfig):
    """django-axes, under a name a shop owner understands in the admin menu."""

    verbose_name = gettext_lazy("Login protection")

    def ready(self):
        super().ready()
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django.contrib import admin

        # axes' lists have a date drill-down (date_hierarchy), which on MySQL
        # and MariaDB needs the server's time zone tables, rarely loaded:
        # without them the list the owner unlocks users from fails. The
        # admin registered them already: it comes first in INSTALLED_APPS.
        for model in (AccessAttempt, AccessLog, AccessFailureLog):
            admin.site.get_model_admin(model).date_hierarchy = None


def lockout_response(request, original_response=None, credentials=None):
    """The admin login page saying the account is locked (AXES_LOCKOUT_CALLABLE).

    Axes' own response is a bare line of text; this is the same jazzmin login
    page the user just used, with the reason and what to do about it. Axes
    passes the login view's response and the credentials; neither is needed.
    """
    # Imported here: this module is loaded with the app registry
    # (LoginProtectionConfig), before the models these modules need are ready.
    from axes.helpers import get_cool_off
    from django.contrib import admin
    from django.contrib.auth.forms import AuthenticationForm

    cool_off = get_cool_off(request)
    if cool_off:
        minutes = ceil(cool_off.total_seconds() / 60)
        message = ngettext(
            "Too many failed login attempts. This account is locked for now; try again "
            "in %(minutes)d minute or ask the owner to unlock it.",
            "Too many failed login attempts. This account is locked for now; try again "
            "in %(minutes)d minutes or ask the owner to unlock it.",
            minutes,
        ) % {"minutes": minutes}
    else:
        message = gettext(
            "Too many failed login attempts. This account is locked; ask the owner to "
            "unlock it."
        )
    context = {
        **admin.site.each_context(request),
        "title": gettext("Log in"),
        "app_path": request.get_full_path(),
        "form": AuthenticationForm(request),
        "lockout_message": message,
    }
    return render(
        request, "admin/login_locked.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )


# django-axes' admin strings that its own Indonesian catalogue lacks; listed
# so that `make messages` keeps them in locale/id, translated like our own.
AXES_ADMIN_MESSAGES = [
    gettext_noop("Locked Out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Not set"),
]
