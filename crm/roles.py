"""Roles and record ownership: who may see and do what.

Three roles, as Django groups (created by migration crm 0010):

* **Pemilik** (owner): everything, including users, import/export, sending
  WhatsApp and deleting.
* **Sales**: adds and changes customers and opportunities, sends WhatsApp,
  but sees only the opportunities they own and the customers they own or
  have an opportunity with; no delete, no import, no export.
* **Viewer**: reads everything, changes nothing.

Seeing every salesperson's records is itself a permission
(``crm.view_all_records``), held by the owner and viewer roles and by
superusers, so visibility is decided by permissions, not by group names.
"""

from django.db.models import OuterRef, Q, Subquery

SEE_ALL_PERMISSION = "crm.view_all_records"

OWNER = "Pemilik"
SALES = "Sales"
VIEWER = "Viewer"

_CRM_MODELS = ["customer", "opportunity"]
_LOG_MODELS = ["stagechange", "message", "messagebatch", "messagetemplate", "importrecord"]

# Role -> [(app_label, codename)].
ROLE_PERMISSIONS = {
    OWNER: [
        *(("crm", f"{action}_{model}")
          for model in [*_CRM_MODELS, "messagetemplate", "notificationrule", "payment"]
          for action in ("add", "change", "delete", "view")),
        *(("crm", f"view_{model}") for model in _LOG_MODELS),
        *(("crm", f"{action}_{model}") for model in _CRM_MODELS for action in ("import", "export")),
        ("crm", "delete_importrecord"),
        ("crm", "send_whatsapp"),
        ("crm", "view_all_records"),
        *(("auth", f"{action}_{model}") for model in ("user", "group")
          for action in ("add", "change", "delete", "view")),
        # Login protection: see who is locked out, and unlock them.
        ("axes", "view_accessattempt"),
        ("axes", "delete_accessattempt"),
        ("axes", "view_accesslog"),
    ],
    SALES: [
        *(("crm", f"{action}_{model}") for model in _CRM_MODELS
          for action in ("add", "change", "view")),
        ("crm", "view_stagechange"),
        ("crm", "view_message"),
        ("crm", "view_messagebatch"),
        ("crm", "view_messagetemplate"),
        ("crm", "send_whatsapp"),
        # Payments on their own orders: recorded, not deleted.
        ("crm", "add_payment"),
        ("crm", "view_payment"),
    ],
    VIEWER: [
        *(("crm", f"view_{model}") for model in [*_CRM_MODELS, *_LOG_MODELS, "payment"]),
        ("crm", "view_all_records"),
    ],
}


def sync_roles(group_model, permission_model, app_labels=None):
    """Create the role groups and give each exactly its permissions.

    Takes the models so a migration can pass its historical ones, and the
    apps whose permissions to set (None: all), for a migration that runs
    before another app's permissions exist.
    """
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=role)
        permissions = [
            permission for permission in group.permissions.all()
            if app_labels is not None and permission.content_type.app_label not in app_labels
        ]
        for app_label, codename in wanted:
            if app_labels is not None and app_label not in app_labels:
                continue
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                raise LookupError(f"Permission {app_label}.{codename} does not exist")
            permissions.append(permission)
        group.permissions.set(permissions)


def sees_all_records(user):
    return user.is_active and (user.is_superuser or user.has_perm(SEE_ALL_PERMISSION))


def visible_opportunities(user, opportunities):
    """The opportunities ``user`` may see: all, or the ones they own."""
    if sees_all_records(user):
        return opportunities
    return opportunities.filter(owner=user)


def visible_customers(user, customers):
    """The customers ``user`` may see: all, or the ones they own or sell to."""
    if sees_all_records(user):
        return customers
    from crm.models import Opportunity

    # A scalar subquery per customer ("is there one deal of theirs?"), not
    # "pk IN (their deals' customers)" nor EXISTS, which MariaDB turns into
    # the same semi-join: it materialised their deals' customers by scanning
    # every opportunity on each request (5-7 s for a customer page on 3M
    # deals). A page of customers now looks each one's deals up by index.
    one_deal = Opportunity.objects.filter(customer=OuterRef("pk"), owner=user).order_by()
    one_deal = one_deal.values("pk")[:1]
    return customers.alias(selling_to=Subquery(one_deal)).filter(
        Q(owner=user) | Q(selling_to__isnull=False)
    )


def visible_messages(user, messages):
    """The WhatsApp messages ``user`` may see: all, or those to the customers
    they may see."""
    if sees_all_records(user):
        return messages
    from crm.models import Customer

    customers = visible_customers(user, Customer.objects.all())
    return messages.filter(customer__in=customers.values("pk"))


def visible_batches(user, batches):
    """The sends (message batches) ``user`` may see: all, or the ones they sent
    (a batch holds its text, written for someone else's customers too)."""
    if sees_all_records(user):
        return batches
    return batches.filter(created_by=user)
