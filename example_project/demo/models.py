"""The host site's own organizations and nuclei.

django-convites does not own these models: an invite refers to an organization and its nuclei by id, and
the site tells the app where to find them (``DJANGO_CONVITES`` in the settings). When someone uses an
invite, :mod:`demo.receivers` makes them a member of the invite's organization and nuclei.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Organizacao(models.Model):
    nome = models.CharField("nome", max_length=200)
    slug = models.SlugField("slug", max_length=200, unique=True)
    membros = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="membros", related_name="organizacoes", blank=True
    )

    class Meta:
        verbose_name = "organização"
        verbose_name_plural = "organizações"
        ordering = ("nome",)

    def __str__(self) -> str:
        return self.nome


class Nucleo(models.Model):
    nome = models.CharField("nome", max_length=200)
    organizacao = models.ForeignKey(
        Organizacao,
        verbose_name="organização",
        on_delete=models.CASCADE,
        related_name="nucleos",
    )
    membros = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="membros", related_name="nucleos", blank=True
    )

    class Meta:
        verbose_name = "núcleo"
        verbose_name_plural = "núcleos"
        ordering = ("organizacao__nome", "nome")
        constraints = [
            models.UniqueConstraint(fields=["nome", "organizacao"], name="demo_nucleo_nome_organizacao_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.nome} ({self.organizacao})"
