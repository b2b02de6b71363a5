"""Template tags of the HTML pages: ``{% load convites %}``."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def convites_home_url() -> str:
    """Where *Back to the site* points (:func:`django_convites.views.home_url`): ``LOGIN_REDIRECT_URL`` when
    the site sets it, else ``/``. It needs no request, so pages rendered without one (the database-busy
    page) have it too."""
    from django_convites.views import home_url

    return home_url()
