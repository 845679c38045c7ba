"""The shell of every admin page (templates/admin/base.html): the phone's
bottom bar, and the side menu with the technical pages under "Settings"."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from crm.roles import OWNER

register = template.Library()

# Apps a shop owner does not run the business with: users and groups, login
# protection, background task results. Put together under "Settings".
TECHNICAL_APPS = ("auth", "axes", "django_tasks_database")


def is_owner(user):
    """The business's owner: a superuser or a member of the owner role."""
    if not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=OWNER).exists()


@register.simple_tag
def shell_menu(side_menu, user):
    """jazzmin's side menu split into the business's apps and one "Settings"
    group of the technical pages (None for everyone but the owner)."""
    business = [app for app in side_menu if app["app_label"] not in TECHNICAL_APPS]
    technical = [app for app in side_menu if app["app_label"] in TECHNICAL_APPS]
    settings_group = None
    if technical and is_owner(user):
        settings_group = {"name": _("Settings"), "icon": "fas fa-cog", "apps": technical}
    return {"apps": business, "settings": settings_group}


# (label, URL name, permission needed, icon)
_BOTTOM_BAR = (
    ("Dashboard", "admin:index", None, "fas fa-th-large"),
    ("Customers", "admin:crm_customer_changelist", "crm.view_customer", "fas fa-address-book"),
    ("Opportunities", "admin:crm_opportunity_changelist", "crm.view_opportunity",
     "fas fa-funnel-dollar"),
    ("Board", "admin:crm_opportunity_board", "crm.view_opportunity", "fas fa-columns"),
    ("Messages", "admin:crm_message_changelist", "crm.view_message", "fas fa-comment-dots"),
)


@register.simple_tag(takes_context=True)
def bottom_bar(context):
    """The phone's bottom bar: the pages the user may see, the current one marked."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active:
        return []
    labels = {
        "Dashboard": _("Dashboard"), "Customers": _("Customers"),
        "Opportunities": _("Opportunities"), "Board": _("Board"), "Messages": _("Messages"),
    }
    items = []
    for label, url_name, permission, icon in _BOTTOM_BAR:
        if permission and not user.has_perm(permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": labels[label], "url": url, "icon": icon, "current": False})
    # The longest matching address is the current page (the board's is
    # inside the opportunities' own).
    path, home = request.path, reverse("admin:index")
    matches = [
        item for item in items
        if path == item["url"] or (item["url"] != home and path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["current"] = True
    return items
