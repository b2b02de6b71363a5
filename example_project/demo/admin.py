from __future__ import annotations

from django.contrib import admin

from demo.models import Nucleo, Organizacao


class NucleoInline(admin.TabularInline):
    model = Nucleo
    extra = 0


@admin.register(Organizacao)
class OrganizacaoAdmin(admin.ModelAdmin):
    list_display = ("nome", "slug")
    search_fields = ("nome", "slug")
    prepopulated_fields = {"slug": ("nome",)}
    inlines = [NucleoInline]


@admin.register(Nucleo)
class NucleoAdmin(admin.ModelAdmin):
    list_display = ("nome", "organizacao")
    list_filter = ("organizacao",)
    search_fields = ("nome", "organizacao__nome")
    list_select_related = ("organizacao",)
