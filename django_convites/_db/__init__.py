"""Private: the database mechanics the services share. Nothing here is API; the names say what it does.

- :mod:`~django_convites._db.deferred`: writes that must survive the rollback of the failure they record
  (:func:`~django_convites._db.deferred.run_despite_rollback`, public as
  :func:`django_convites.audit.run_despite_rollback`);
- :mod:`~django_convites._db.batches`: deleting old rows a batch at a time (the cleanup commands, the
  audit retention purge);
- :mod:`~django_convites._db.user_rows`: the one query of an authenticated request, SQL the ORM compiles
  once per database alias.

These modules import Django and nothing of the app, so models and services alike may use them.
"""
