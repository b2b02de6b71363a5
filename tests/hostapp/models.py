"""A host site's own organizations and nuclei, as the tests' settings name them.

Organizations have UUID keys and nuclei integer keys, so both kinds of reference are exercised.
"""

from __future__ import annotations

import uuid

from django.db import models


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Nucleus(models.Model):
    name = models.CharField(max_length=100)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="nuclei")

    def __str__(self) -> str:
        return self.name
