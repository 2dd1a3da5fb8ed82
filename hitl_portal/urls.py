from django.conf import settings
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import admin_home, admin_nav, passkey_manage, preferences
from core.metrics_view import metrics
from core.shortcut import view_on_site
from core.two_factor import TwoFactorLoginForm, two_factor

# Before admin.site.urls below builds the site's URLs (every admin module has registered by now).
admin_nav.install(admin.site)
admin_home.install(admin.site)
preferences.install(admin.site)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Before the admin's own: Django's shortcut is not tenant-scoped and its 404s say why.
    path(
        "admin/r/<str:content_type_id>/<path:object_id>/",
        admin.site.admin_view(view_on_site),
        name="view-on-site",
    ),
    path("admin/two-factor/", admin.site.admin_view(two_factor), name="two-factor"),
    # Passkey ceremonies (JSON, called by the two-factor page's scripts): core/passkeys.py.
    path("admin/two-factor/passkeys/", include("core.passkeys", namespace="otp_webauthn")),
    # A person's own passkeys, renamed or removed from that page: core/passkey_manage.py.
    path(
        "admin/two-factor/passkey/<int:pk>/rename/",
        admin.site.admin_view(passkey_manage.rename),
        name="passkey-rename",
    ),
    path(
        "admin/two-factor/passkey/<int:pk>/remove/",
        admin.site.admin_view(passkey_manage.remove),
        name="passkey-remove",
    ),
    # Browsers ask for it on every site; without it each page view logs a 404 warning.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("core/favicon.svg"))),
    path("admin/", admin.site.urls),
    path("ops/", include("core.urls")),
    path("invitations/", include("tenants.urls")),
    path("", include("connections.urls")),
    path("api/v1/", include("conversations.api.urls")),
    # OpenAPI schema of the bot API and its Swagger UI (public: the docs hold no data).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP to refuse.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("webhooks/hubspot/", include("conversations.webhooks.urls")),
    # Prometheus (host operators only: a bearer token, 404 when METRICS_TOKEN is unset).
    path("metrics", metrics, name="metrics"),
]

if settings.HUBSPOT_SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

if settings.HITL_BENCH:
    from core.bench import baseline

    urlpatterns.append(path("bench/baseline/", baseline, name="bench-baseline"))

handler500 = "core.errors.handler500"

# The password, then a code for anyone who enrolled a second factor (core/two_factor.py).
admin.site.login_form = TwoFactorLoginForm
admin.site.login_template = "admin/login_two_factor.html"
admin.site.site_header = "HubSpot HITL portal"
admin.site.site_title = "HITL portal"
admin.site.index_title = "Operations"

# Error pages inside the admin's chrome, saying what the person can do (core/error_pages.py).
handler403 = "core.error_pages.forbidden"
handler404 = "core.error_pages.not_found"
handler500 = "core.error_pages.server_error"
