"""Custom user models, one per way a site may shape ``AUTH_USER_MODEL``; each ``settings_*`` module picks one.

The tests here run only under one of those settings (``tox -e py313-dj61-{sqlite,postgres,mysql}-usermodels``),
since the user model is fixed for the life of a process.
"""
