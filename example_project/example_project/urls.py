"""URLs of the example project: the app mounted as in the contract, plus admin, login and a home page.

Every login page (the site's, the admin's, the browsable API's) is throttled like the JWT login:
:class:`django_convites.views.LoginView`, or :func:`django_convites.views.throttle_login` around a view
that cannot be replaced.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from demo.views import HomeView
from django_convites.views import LoginView, throttle_login

# rest_framework.urls, with the throttled login view.
browsable_api_auth = (
    [
        path("login/", LoginView.as_view(template_name="rest_framework/login.html"), name="login"),
        path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    ],
    "rest_framework",
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", HomeView.as_view(), name="home"),
    path("admin/login/", throttle_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api-auth/", include(browsable_api_auth)),
]

if "drf_spectacular" in settings.INSTALLED_APPS:
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

    urlpatterns += [
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    ]

urlpatterns += [
    path("api/", include("django_convites.api.urls")),
    path("tokens/", include("django_convites.urls")),
]

# JSON errors for the API, Django's HTML pages for everything else.
handler400 = "django_convites.api.handlers.bad_request"
handler403 = "django_convites.api.handlers.permission_denied"
handler404 = "django_convites.api.handlers.page_not_found"
handler500 = "django_convites.api.handlers.server_error"
