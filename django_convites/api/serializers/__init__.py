"""Serializers of the API, one module per area; :mod:`~django_convites.api.serializers.base` holds what
they share. Import each from its module."""
