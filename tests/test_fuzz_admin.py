"""No address or posted field, however malformed, is a server error.

Every admin page (each model of admin.site._registry, and our own: the
dashboard, the board and its moves, import and export, the send page, the
history versions) is requested as each role with random list parameters
(filters, ordering, page, search, random lookups), and its forms are posted
with random values in place of what a browser would send. A refusal (4xx),
a page or a redirect are all fine; a 5xx fails.

Hypothesis draws the parameters from a fixed seed (derandomize), so a run
in CI is the same as a run here. Each request runs in a savepoint rolled
back afterwards: every example starts from the same records.
"""

import contextlib
import urllib.parse
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.dashboard import PERIODS
from crm.models import Customer, ImportRecord, MessageTemplate, NotificationRule, Payment, Stage
from crm.roles import OWNER, SALES, VIEWER
from crm.whatsapp import outbox

ROLES = ["superuser", OWNER, SALES, VIEWER]

FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
    ],
)

# Values that broke, or might break, a parser somewhere on the way to the database.
AWKWARD = [
    "", " ", "0", "1", "-1", "abc", "x", "%", "_", "'", '"', "\\", "/", "foo", "//evil.example",
    "https://evil.example/", "1.5", "1e9", "9" * 25, "-" + "9" * 25, "2026-12-01",
    "2026-13-45", "2026-12-01 10:00", "31/12/2026", "true", "False", "None", "null", "[]",
    "{}", "1,2", "a,b", "0x10", "١٢", "😀", "<script>", "&", "=", "?", "#", "(c+)+$", "*",
    "e", "1" * 300, "\x00", "prospect", "won", "lost", "queued", "failed", "today", "week",
    "month", "quarter", "year", "mine_due", "overdue", "../../etc/passwd", *PERIODS,
]
# Parameters a list or page reads besides its filters.
PAGE_KEYS = [
    "o", "p", "q", "e", "_popup", "_to_field", "_changelist_filters", "all", "period", "page",
    "term", "app_label", "model_name", "field_name", "next", "follow_up",
]
# Fields of the admin's forms and actions, posted where they do not belong too.
FORM_KEYS = [
    "action", "_selected_action", "select_across", "index", "post", "confirm", "text",
    "template", "export_items", "_save", "_continue", "_addanother", "_saveasnew", "format",
    "resource",
]
ACTIONS = [
    "delete_selected", "send_whatsapp", "requeue_messages", "undo_imports",
    "restore_customers", "export_admin_action", "cleanup_expired_attempts", "nope",
]
CSV = b"Nama,No HP\nDewi,0812-3456-7890\n"
# Our own pages, drawn more often than each of Django's stock ones.
OWN_VIEWS = {"board", "export", "import", "process_import", "send_whatsapp", "version", "index"}


def lookups_of(model):
    """Filters a list URL of ``model`` may carry: (allowed, refused) lookups.

    One refused lookup makes the whole request a 400, so they are drawn
    apart, and less often: the allowed ones with bad values reach the queries.
    """
    allowed, refused = [], ["x__regex", "pk__range", "no_such_field"]
    if model is None:
        return allowed, refused
    for field in model._meta.get_fields():
        if not field.concrete and not field.is_relation:
            continue
        name = field.name
        allowed += [name, f"{name}__exact", f"{name}__gte", f"{name}__lt", f"{name}__isnull",
                    f"{name}__in"]
        refused += [f"{name}__regex", f"{name}__year", f"{name}__range"]
        if field.is_relation:
            allowed += [f"{name}__id__exact", f"{name}__pk__in"]
            refused.append(f"{name}__name__startswith")
    model_admin = admin.site._registry.get(model)
    for list_filter in getattr(model_admin, "list_filter", ()):
        parameter = getattr(list_filter, "parameter_name", None)
        if parameter:
            allowed.append(parameter)
    return allowed, refused


def values(ids):
    one = st.one_of(
        st.sampled_from(AWKWARD),
        st.sampled_from(ids),
        st.text(max_size=20),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
    )
    return one, st.one_of(one, st.lists(one, min_size=1, max_size=3))


class FormParser(HTMLParser):
    """What a browser would post from each <form> of a page: [(attrs, [(name, value)])]."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.fields = None
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form":
            self.fields = []
            self.forms.append((attrs, self.fields))
        elif self.fields is None or (not name and tag != "option"):
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self.select = {"name": name, "multiple": "multiple" in attrs, "chosen": [],
                           "first": None}
        elif tag == "option" and self.select is not None:
            value = attrs.get("value", "")
            if self.select["first"] is None:
                self.select["first"] = value
            if "selected" in attrs:
                self.select["chosen"].append(value)
        elif tag == "textarea":
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.fields = None
        elif tag == "select" and self.select is not None:
            chosen = self.select["chosen"] or (
                [] if self.select["multiple"] or self.select["first"] is None
                else [self.select["first"]]
            )
            self.fields.extend((self.select["name"], value) for value in chosen)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None


def browser_post(response, path):
    """The page's own form (posting to itself), as a browser would send it."""
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return {}
    parser = FormParser()
    parser.feed(response.content.decode())
    own = [fields for attrs, fields in parser.forms
           if (attrs.get("method") or "").lower() == "post"
           and attrs.get("action", "") in ("", path)]
    data = {}
    for name, value in max(own, key=len, default=[]):
        data.setdefault(name, []).append(value)
    return data


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def world(django_user_model, make_customer, make_opportunity):
    """A little of everything, so that each page has a record to show and to post about."""
    owner = django_user_model.objects.create_user("pemilik", is_staff=True)
    owner.groups.add(Group.objects.get(name=OWNER))
    sari = django_user_model.objects.create_user("sari", is_staff=True)
    sari.groups.add(Group.objects.get(name=SALES))
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    boss = django_user_model.objects.create_superuser("boss", "boss@contoh.id", "x")
    django_user_model.objects.create_user("lain", is_staff=True)  # a user to edit
    dewi = make_customer(name="Dewi", owner=sari)
    rina = make_customer(name="Rina", owner=owner)
    gone = make_customer(name="Tono")
    gone.delete()
    deal = make_opportunity(customer=dewi, owner=sari, title="Kripik")
    won = make_opportunity(customer=rina, owner=owner, title="Batik")
    won.move_to_stage(Stage.WON, by=owner)
    Payment.objects.create(opportunity=won, amount=1000, paid_on="2026-12-01")
    template = MessageTemplate.objects.create(name="Salam", text="Halo {nama}")
    NotificationRule.objects.create(event=NotificationRule.Event.values[0], days=1,
                                    template=template)
    outbox.queue_messages("Halo", by=owner, customers=Customer.objects.all())
    ImportRecord.objects.create(model_name="crm.customer", file_name="a.csv", imported_by=owner)
    deal.save(changed_by=sari)  # a second version in its history
    users = {"superuser": boss, OWNER: owner, SALES: sari, VIEWER: viewer}
    return {"users": users, "deal": deal, "customer": dewi, "template": template}


def ids_of():
    ids = set()
    for model in admin.site._registry:
        ids.update(str(pk) for pk in model._default_manager.values_list("pk", flat=True)[:5])
    return sorted(ids)


def admin_pages():
    """(model, view, url, pk) of every page of every registered model, of its
    first record when there is one, and of our own pages."""
    pages = [(None, "index", reverse("admin:index"), None)]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        obj = model._default_manager.order_by("pk").first()
        pk = obj.pk if obj is not None else None
        pages.append((model, "changelist", reverse("admin:{}_{}_changelist".format(*info)), pk))
        pages.append((model, "add", reverse("admin:{}_{}_add".format(*info)), pk))
        for name in ("import", "process_import", "export", "import_template", "board"):
            with contextlib.suppress(NoReverseMatch):
                pages.append((model, name, reverse("admin:{}_{}_{}".format(*info, name)), pk))
        if obj is None:
            continue
        for name in ("change", "delete", "history", "send_whatsapp", "password_change"):
            with contextlib.suppress(NoReverseMatch):
                url = reverse("admin:{}_{}_{}".format(*info, name), args=[pk])
                pages.append((model, name, url, pk))
        history = getattr(obj, "history", None)
        version = history.order_by("history_id").first() if history is not None else None
        if version is not None:
            url = reverse("admin:{}_{}_simple_history".format(*info), args=[pk, version.history_id])
            pages.append((model, "version", url, pk))
    pages.append((Customer, "autocomplete", reverse("admin:autocomplete"), None))
    return pages


def weighted(pages):
    return pages + [page for page in pages if page[1] in OWN_VIEWS] * 4


@pytest.fixture
def pages(world):
    return admin_pages()


@pytest.fixture
def ids(world):
    return ids_of()


@pytest.fixture
def browsers(world):
    """A logged-in client per role, each seeing a 500 as a status, not an exception."""
    clients = {}
    for role, user in world["users"].items():
        client = clients[role] = Client(raise_request_exception=False)
        client.force_login(user)
        # A preview now, outside the examples' savepoints: its upload stays
        # for them to confirm.
        response = client.post(reverse("admin:crm_customer_import"), {
            "import_file": SimpleUploadedFile("a.csv", CSV), "format": "0", "resource": "0",
        })
        confirm_form = response.context.get("confirm_form") if response.context else None
        client.confirm_data = {
            key: [str(value)] for key, value in confirm_form.initial.items()
        } if confirm_form else {}
        client.forms = {}  # url: what a browser would post there, read once
    return clients


def assert_no_server_error(response, method, url, data=None):
    assert response.status_code < 500, (
        f"{response.status_code} on {method} {url} {data!r} as {response.wsgi_request.user}"
    )


@FUZZ
@given(data=st.data())
def test_no_list_parameter_is_a_server_error(browsers, pages, ids, data):
    browser = browsers[data.draw(st.sampled_from(ROLES), label="role")]
    model, view, url, _pk = data.draw(st.sampled_from(weighted(pages)), label="page")
    _one, some = values(ids)
    allowed, refused = lookups_of(model)
    keys = st.one_of(
        st.sampled_from(allowed or PAGE_KEYS), st.sampled_from(allowed or PAGE_KEYS),
        st.sampled_from(PAGE_KEYS), st.sampled_from(refused), st.text(max_size=12),
    )
    params = data.draw(st.dictionaries(keys, some, min_size=1, max_size=4), label="params")
    if view == "autocomplete":
        params = {"app_label": "crm", "model_name": "opportunity", "field_name": "customer",
                  **params}
    with rolled_back():
        response = browser.get(url, params)
    assert_no_server_error(response, "GET", url, params)


def form_data(browser, world, view, url, pk):
    """What a browser would post to ``url``, to be tampered with."""
    if view == "board":
        return {
            "opportunity": [str(world["deal"].pk)], "stage": ["contacted"],
            "lost_reason": [""], "next": [url + "?q=kripik"],
        }
    if view == "import":
        return {"format": ["0"], "resource": ["0"], "import_file": [CSV]}
    if view == "process_import":
        return dict(browser.confirm_data)
    if url not in browser.forms:
        with rolled_back():
            browser.forms[url] = browser_post(browser.get(url), url)
    data = dict(browser.forms[url])
    if view == "changelist" and pk is not None:
        data.setdefault("_selected_action", [str(pk)])
    if view == "delete":
        data.setdefault("post", ["yes"])
    if view == "send_whatsapp":
        data.update(template=[str(world["template"].pk)], text=["Halo {nama}"], confirm=["1"])
    return data


def encoded(data):
    """The posted dict for the test client: a file where a file is expected."""
    return {
        key: SimpleUploadedFile("pelanggan.csv", value[0])
        if key == "import_file" and value and isinstance(value[0], bytes) else value
        for key, value in data.items()
    }


@FUZZ
@given(data=st.data())
def test_no_posted_field_is_a_server_error(browsers, world, pages, ids, data):
    browser = browsers[data.draw(st.sampled_from(ROLES), label="role")]
    forms = [page for page in pages
             if page[1] not in ("index", "history", "import_template", "autocomplete")]
    model, view, url, pk = data.draw(st.sampled_from(weighted(forms)), label="form")
    if view == "board":
        url = reverse("admin:crm_opportunity_board_move")
    form = form_data(browser, world, view, url, pk)
    one, some = values(ids)
    known = sorted(form) or ["x"]
    keys = st.one_of(
        st.sampled_from(known), st.sampled_from(known),  # the form's own fields, mostly
        st.sampled_from(FORM_KEYS + PAGE_KEYS), st.text(max_size=12),
    )
    changed = data.draw(st.dictionaries(keys, some, min_size=1, max_size=3), label="changed")
    changed = {key: value if isinstance(value, list) else [value]
               for key, value in changed.items()}
    if view == "changelist":
        changed.setdefault("action", [data.draw(st.sampled_from(ACTIONS), label="action")])
    dropped = data.draw(st.sets(st.sampled_from(known), max_size=2), label="dropped")
    if "import_file" in form:
        changed["import_file"] = [data.draw(st.one_of(st.just(CSV), st.binary(max_size=64)),
                                            label="file")]
    posted = {key: value for key, value in {**form, **changed}.items() if key not in dropped}
    query = data.draw(st.dictionaries(st.sampled_from(PAGE_KEYS + lookups_of(model)[0]), one,
                                      max_size=2), label="query")
    target = f"{url}?{urllib.parse.urlencode(query)}" if query else url
    with rolled_back():
        response = browser.post(target, encoded(posted))
    assert_no_server_error(response, "POST", target, posted)
