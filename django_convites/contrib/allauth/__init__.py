"""django-allauth: an account adapter that lets an invite open allauth's sign-up and spends it there
(docs/allauth.rst). Needs the ``allauth`` extra: ``pip install "django-convites[allauth]"``."""
