"""The questionnaire domain: models, publishing, distribution, capture, access, views and CLI.

This package's ``__init__`` imports nothing so that Flask-free code (``survey.questionnaires.definition``,
``survey.questionnaires.library``) can be used by scripts and by ``analysis`` callers without building an app.
"""
