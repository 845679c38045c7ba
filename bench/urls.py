"""The project's URLs plus the stock-admin baseline at /plain/ (bench only)."""

from django.urls import path

from bench.plain_admin import plain_site
from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,  # our admin at /admin/
    path("plain/", plain_site.urls),
]
