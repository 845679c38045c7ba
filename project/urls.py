from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from crm.health import healthz
from crm.shell_views import manifest
from crm.whatsapp.webhooks import kirimwa_webhook

urlpatterns = [
    # The whole interface is the admin; the bare address takes the user there.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Django's set_language view, used by jazzmin's language chooser (POST + CSRF).
    path("i18n/", include("django.conf.urls.i18n")),
    # For load balancers and container health checks (no login, nothing secret).
    path("healthz", healthz, name="healthz"),
    # For "Add to home screen" (linked from every admin page; no login).
    path("manifest.webmanifest", manifest, name="manifest"),
    path("admin/", admin.site.urls),
    # KirimWA's delivery reports and incoming messages; the token is the secret.
    path("whatsapp/webhook/<str:token>/", kirimwa_webhook, name="kirimwa_webhook"),
]
