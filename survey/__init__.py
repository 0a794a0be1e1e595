"""The service's domain, in packages whose order is their dependency order (docs/ARCHITECTURE.md): ``platform``,
``models``, ``accounts``, ``audit``, ``jobs``, ``questionnaires``, ``privacy``, ``responses``, ``respond``,
``results``, ``collection``, ``indicators``, ``reports``, ``projects``. ``tests/test_imports_graph.py`` holds the
code to that order.

This package's ``__init__`` imports nothing so that Flask-free code (``survey.questionnaires.definition``,
``survey.questionnaires.library``) can be used by scripts without building an app.
"""
