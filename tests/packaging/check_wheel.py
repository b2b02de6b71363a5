"""Check the built distributions the way a user meets them (run by ``tox -e package``).

1. The wheel holds the migrations, templates, static files, py.typed and both compiled catalogs, and no
   tests.
2. The wheel's version is ``django_convites.__version__``.
3. The wheel installs into an empty virtualenv; ``django-admin check`` passes and migrations apply in a
   minimal site that adds the app as docs/quickstart.rst says; the example project runs on it.

Usage: ``python tests/packaging/check_wheel.py DIST_DIR``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REQUIRED = [
    "django_convites/__init__.py",
    "django_convites/py.typed",
    "django_convites/migrations/0001_initial.py",
    "django_convites/templates/django_convites/base.html",
    "django_convites/templates/django_convites/backup_codes.txt",
    "django_convites/static/django_convites/convites.css",
    "django_convites/static/django_convites/convites.js",
    "django_convites/locale/pt_BR/LC_MESSAGES/django.po",
    "django_convites/locale/pt_BR/LC_MESSAGES/django.mo",
    "django_convites/locale/en/LC_MESSAGES/django.mo",
    "django_convites/api/urls.py",
]
FORBIDDEN = re.compile(r"^(tests|example_project|docs|benchmarks)/")

SITE_SETTINGS = """
SECRET_KEY = "check-wheel"
USE_TZ = True
ROOT_URLCONF = "site_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.admin",
    "rest_framework", "django_otp", "django_otp.plugins.otp_totp", "django_convites",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django_convites.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# The throttles' counts, shared by every server process (a local-memory cache would warn: W004).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "site_cache"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                                  "django.contrib.messages.context_processors.messages",
                                                  "django.template.context_processors.request"]}}]
"""
SITE_URLS = """
from django.urls import include, path
urlpatterns = [
    path("api/", include("django_convites.api.urls")),
    path("tokens/", include("django_convites.urls")),
]
"""


def version() -> str:
    text = (ROOT / "django_convites" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "no __version__"
    return match.group(1)


def check_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    missing = [name for name in REQUIRED if name not in names]
    assert not missing, f"missing from the wheel: {missing}"
    stray = [name for name in names if FORBIDDEN.match(name)]
    assert not stray, f"should not be in the wheel: {stray[:5]}"
    assert wheel.name.startswith(f"django_convites-{version()}-"), wheel.name
    print(f"wheel contents ok: {len(names)} files")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode:
        print(result.stdout, result.stderr, sep="\n")
        raise SystemExit(f"failed: {' '.join(map(str, args))}")
    return result.stdout


def check_install(wheel: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        venv.create(home / "venv", with_pip=True)
        python = home / "venv" / "bin" / "python"
        run(python, "-m", "pip", "install", "--quiet", f"{wheel}[example]", cwd=home)
        site = home / "site"
        site.mkdir()
        (site / "site_settings.py").write_text(textwrap.dedent(SITE_SETTINGS))
        (site / "site_urls.py").write_text(textwrap.dedent(SITE_URLS))
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "site_settings", "PYTHONPATH": str(site)}
        env.pop("DATABASE_URL", None)
        where = run(python, "-c", "import django_convites; print(django_convites.__file__)", cwd=site, env=env)
        assert str(home / "venv") in where, f"imported from the source tree: {where}"
        run(python, "-m", "django", "check", "--fail-level", "WARNING", cwd=site, env=env)
        run(python, "-m", "django", "migrate", "--noinput", cwd=site, env=env)
        run(python, "-m", "django", "createcachetable", cwd=site, env=env)
        run(python, "-m", "django", "makemigrations", "--check", "--dry-run", cwd=site, env=env)
        print("minimal site: check, migrate and makemigrations --check pass on the installed wheel")
        example_env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        example_env["DATABASE_URL"] = f"sqlite:///{home / 'example.sqlite3'}"
        example = [python, ROOT / "example_project" / "manage.py"]
        where = run(
            *example,
            "shell",
            "-c",
            "import django_convites; print(django_convites.__file__)",
            cwd=home,
            env=example_env,
        )
        assert str(home / "venv") in where, f"example imported the source tree: {where}"
        run(*example, "check", cwd=home, env=example_env)
        run(*example, "demo", "--noserve", cwd=home, env=example_env)
        print("example project: check and demo pass on the installed wheel")


def main() -> None:
    dist = Path(sys.argv[1])
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist in {dist}"
    check_contents(wheels[0])
    check_install(wheels[0])


if __name__ == "__main__":
    main()
