"""The demo site's own app: the host's organization and nucleus models, demo data, a home page."""

from __future__ import annotations
