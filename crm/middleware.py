from django.conf import settings
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import formats, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from crm.health import healthz

# Room for the import form's other fields and the multipart boundaries
# around the file (about 1 KB in practice).
IMPORT_FORM_OVERHEAD = 64 * 1024


def chosen_language(request):
    """The language chosen with the chooser (its cookie), else LANGUAGE_CODE."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    supported = {code for code, _name in settings.LANGUAGES}
    return chosen if chosen in supported else settings.LANGUAGE_CODE


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Indonesian unless the user chose another language with the chooser.

    Django's LocaleMiddleware also follows the browser's Accept-Language, and
    many of our users' phones are set to English although they work in
    Indonesian. So only the language cookie written by the set_language view
    counts; without it the site speaks settings.LANGUAGE_CODE.
    """

    def process_request(self, request):
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()


class HealthCheckMiddleware:
    """Answers /healthz before the HTTPS redirect and the Host header check.

    The container's health check asks http://127.0.0.1:8000/healthz: with
    SECURE_SSL_REDIRECT on it got a redirect to https, which nothing inside
    the container serves, and with ALLOWED_HOSTS set to the domain a 400 and
    an "Invalid HTTP_HOST header" log line every 30 s. The answer reveals
    nothing that depends on the host or the scheme.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)


class RequestBodyLimitMiddleware:
    """Answers 413 to a request whose body is larger than its page accepts,
    before anything reads the body.

    Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not files:
    any form, the login page included, took a 1 GB file part and wrote it to
    /tmp, and gunicorn has no body limit. The spreadsheet import page accepts
    IMPORT_MAX_UPLOAD_MB and its form; every other page, whose forms are text,
    DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB). The import's confirmation
    posts only the stored file's name, so it has the small limit too.

    Only the declared Content-Length is judged, which is enough: Django reads
    no more than it (django.core.handlers.wsgi.LimitedStream), and nothing of
    a body without one (chunked).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            if is_import_upload(request.path_info):
                limit = settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024 + IMPORT_FORM_OVERHEAD
                if length > limit:
                    return too_large_response(request, settings.IMPORT_MAX_UPLOAD_MB)
            else:
                return too_large_response(request, limit / (1024 * 1024))
        return self.get_response(request)


def is_import_upload(path):
    """Whether ``path`` is a spreadsheet import page (import_export's import_action)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    # The admin's view wrapper keeps the view's name.
    return getattr(match.func, "__name__", "") == "import_action"


def too_large_response(request, limit_mb):
    """A plain page (no theme, nothing loaded) in the user's language."""
    with translation.override(chosen_language(request)):
        title = _("Too much data sent")
        text = _(
            "What was sent is larger than %(limit)s MB, the most this page accepts. Nothing "
            "was saved."
        ) % {"limit": formats.number_format(round(limit_mb, 1), decimal_pos=None)}
        html = format_html(
            '<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><title>{}</title>'
            "</head><body><h1>{}</h1><p>{}</p></body></html>",
            translation.get_language(), title, title, text,
        )
    response = HttpResponse(html, status=413)
    response["Content-Security-Policy"] = "default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
