"""Open every admin page a user reaches from the menu, as the owner, and fail
unless each answers 200.

Run by the production-install check (.ci/prod-check, `make prod-check`) with
DEBUG off, collected static files and only requirements.txt installed: a page
that needs a package the production install lacks, a template asking for a
static file that was not collected, or a settings mistake shows up as a URL
and its status. The pages come from the admin site itself, not from a list:
every registered model's own URLs (list, add, change, history, delete, import,
export, board, send page…, filled in with the first record the owner sees),
every app's index, and every link in jazzmin's side, top and user menus. The
static files those pages load are fetched too.

Needs no pytest: django.test.Client is part of Django.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from crm.roles import OWNER

PAGE_CHECK_USERNAME = "page-check"
# Who may use a model admin's standard views, by the end of the URL's name.
STANDARD_VIEWS = {
    "_changelist": lambda model_admin, request, obj: model_admin.has_view_or_change_permission(
        request),
    "_add": lambda model_admin, request, obj: model_admin.has_add_permission(request),
    "_change": lambda model_admin, request, obj: model_admin.has_view_or_change_permission(
        request, obj),
    "_history": lambda model_admin, request, obj: model_admin.has_view_or_change_permission(
        request, obj),
    "_delete": lambda model_admin, request, obj: model_admin.has_delete_permission(
        request, obj),
}
ASSET_RE = re.compile(r'(?:href|src)="([^"]+)"')


class Command(BaseCommand):
    help = (
        "Open every admin page reachable from the menu as an owner (a temporary user "
        "of the owner role) and fail unless all answer 200."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--username",
            help="Open the pages as this existing user instead of a temporary owner.",
        )
        parser.add_argument(
            "--make-records", action="store_true",
            help="First make a record of each kind the demo data lacks (a WhatsApp "
                 "message, a notification rule, an import, a deleted customer, a failed "
                 "login, history), and fail if a page still has no record to open. "
                 "For a throwaway database only.",
        )

    def handle(self, *args, username=None, make_records=False, verbosity=1, **options):
        user, temporary = self.page_user(username)
        try:
            # HTTPS, as behind the proxy: SECURE_SSL_REDIRECT stays on.
            client = Client(HTTP_HOST=self.host(), raise_request_exception=False)
            if make_records:
                self.make_records(user, client)
            client.force_login(user)
            request = RequestFactory().get("/admin/")
            request.user = user
            pages, not_opened = self.pages(request)
            failures, assets = [], set()
            for url, what in pages.items():
                status, body = self.open(client, url)
                if verbosity > 1:
                    self.stdout.write(f"{status} {url} ({what})")
                if status == 405:
                    not_opened.append((url, f"{what}: POST only"))
                elif status != 200:
                    failures.append((url, status, what))
                else:
                    assets.update(self.static_files(body))
            for url in sorted(assets):
                status, _body = self.open(client, url)
                if verbosity > 1:
                    self.stdout.write(f"{status} {url} (static file)")
                if status != 200:
                    failures.append((url, status, "static file"))
            if make_records:
                failures.extend((url, "-", why) for url, why in not_opened
                                if why.endswith(("no record to open", "no history to open")))
        finally:
            if temporary:
                user.delete()
        for url, why in not_opened:
            self.stdout.write(f"not opened: {url} ({why})")
        if failures:
            for url, status, what in failures:
                self.stderr.write(f"FAIL {status} {url} ({what})")
            raise CommandError(
                f"{len(failures)} of {len(pages) + len(assets)} pages and static files "
                "did not answer 200."
            )
        self.stdout.write(self.style.SUCCESS(
            f"All {len(pages)} admin pages and {len(assets)} static files answered 200 "
            f"as {user.username}."
        ))

    def page_user(self, username):
        User = get_user_model()
        if username:
            try:
                return User.objects.get(username=username), False
            except User.DoesNotExist as error:
                raise CommandError(f"No user {username!r}.") from error
        User.objects.filter(username=PAGE_CHECK_USERNAME).delete()
        user = User.objects.create_user(PAGE_CHECK_USERNAME, is_staff=True)
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=OWNER))
        return User.objects.get(pk=user.pk), True

    def make_records(self, user, client):
        """One record of each kind load_demo leaves out, made as the app makes them."""
        from crm.models import (
            Customer,
            ImportRecord,
            MessageTemplate,
            NotificationRule,
            Opportunity,
        )
        from crm.whatsapp import outbox

        customer = Customer.objects.order_by("pk").first()
        opportunity = Opportunity.objects.order_by("pk").first()
        if customer is None or opportunity is None:
            raise CommandError("No customers or opportunities: run `manage.py load_demo` first.")
        # History records of the records whose history pages are opened
        # (fixtures write none).
        customer.save()
        opportunity.save()
        outbox.queue_messages(
            "Halo {nama}", by=user, customers=Customer.objects.filter(pk=customer.pk))
        NotificationRule.objects.get_or_create(
            event=NotificationRule.Event.WON, days=0,
            defaults={"template": MessageTemplate.objects.order_by("pk").first()},
        )
        ImportRecord.objects.create(model_name="customer", file_name="check.csv",
                                    imported_by=user)
        Customer.objects.create(name="Page check", phone="+6281234567890", owner=user).delete()
        # A failed login: an access attempt for the login protection's pages.
        client.post(reverse("admin:login"), {"username": user.username, "password": "x"},
                    secure=True)

    def host(self):
        named = [host for host in settings.ALLOWED_HOSTS if host and "*" not in host]
        return (named[0].lstrip(".") if named else "localhost")

    def pages(self, request):
        """{url: what it is} of every page to open, and [(url, why)] of those
        that cannot be opened with a plain GET."""
        site = admin.site
        pages = {reverse("admin:index"): "dashboard"}
        not_opened = []
        for app in site.get_app_list(request):
            pages[app["app_url"]] = f"{app['app_label']} app index"
        for model, model_admin in site._registry.items():
            if not any(model_admin.get_model_perms(request).values()):
                continue  # not in this user's menu
            obj = model_admin.get_queryset(request).order_by("pk").first()
            label = model._meta.label
            for pattern in model_admin.get_urls():
                if not pattern.name:
                    continue  # the bare <object_id>/ redirect to the change page
                url, why = self.url_for(model_admin, request, pattern, obj)
                if url:
                    pages.setdefault(url, f"{label} {pattern.name}")
                elif why:
                    not_opened.append((f"admin:{pattern.name}", f"{label}: {why}"))
        for url, what in self.menu_links(request):
            pages.setdefault(url, what)
        return pages, not_opened

    def url_for(self, model_admin, request, pattern, obj):
        """(url, None), (None, why it is not opened) or (None, None) when this
        user is not meant to reach it."""
        name = pattern.name
        regex = pattern.pattern.regex
        arguments = set(regex.groupindex)
        if regex.groups > len(arguments):
            # simple-history's version page: (object id, history id), unnamed.
            if regex.groups != 2 or getattr(obj, "history", None) is None:
                return None, "needs positional arguments"
            record = obj.history.order_by("pk").first()
            if record is None:
                return None, "no history to open"
            return reverse(f"admin:{name}", args=[obj.pk, record.pk]), None
        for suffix, allowed in STANDARD_VIEWS.items():
            if name.endswith(suffix) and not name.endswith("_simple_history"):
                if arguments and obj is None:
                    return None, "no record to open"
                if not allowed(model_admin, request, obj):
                    return None, None
        kwargs = {}
        for argument in arguments & {"object_id", "id"}:  # "id": the user's password page
            if obj is None:
                return None, "no record to open"
            kwargs[argument] = obj.pk
        for argument in arguments - {"object_id", "id"}:
            return None, f"needs <{argument}>"
        try:
            return reverse(f"admin:{name}", kwargs=kwargs), None
        except NoReverseMatch as error:
            return None, str(error)

    def menu_links(self, request):
        """(url, what) of every link in jazzmin's side, top and user menus."""
        from jazzmin.templatetags.jazzmin import get_side_menu, get_top_menu, get_user_menu

        context = {"user": request.user, "available_apps": admin.site.get_app_list(request)}
        links = []
        for app in get_side_menu(context):
            for item in app["models"]:
                links.append((item.get("url"), f"side menu: {item.get('name')}"))
        for item in [*get_top_menu(request.user), *get_user_menu(request.user)]:
            links.append((item.get("url"), f"menu: {item.get('name')}"))
        return [(url, what) for url, what in links
                if url and url.startswith("/") and "logout" not in url]

    def open(self, client, url):
        response = client.get(url, secure=True)
        body = b""
        if response.status_code == 200 and not response.streaming:
            if response.get("Content-Type", "").startswith("text/html"):
                body = response.content
        return response.status_code, body

    def static_files(self, body):
        static_url = "/" + settings.STATIC_URL.lstrip("/")
        found = set()
        for link in ASSET_RE.findall(body.decode("utf-8", "replace")):
            path = urlsplit(link.replace("&amp;", "&")).path
            if path.startswith(static_url) and not path.endswith("/"):
                found.add(path)
        return found
