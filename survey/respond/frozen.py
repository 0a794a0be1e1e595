"""What the respondent page derives from a published version, computed once per version and language.

A published ``QuestionnaireVersion`` never changes (``survey.questionnaires.publishing`` freezes it), yet every page
view and every submission used to deep-copy, localise, number and turn its definition into a form
class again: about 15 ms of CPU per request for a 20-question questionnaire, more than everything
else a submission does. Caching these derivations is not state another server needs: each server
computes the same values from the same row, so several app servers stay interchangeable.

The cached definition and sections are shared between requests: callers must treat them as read-only.
The key includes the language, so markup rendered in one language is never served in another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from survey.questionnaires.definition import normalize_definition, numbered_sections
from survey.questionnaires.localize import language_of, localize_definition
from survey.respond.reader import QuickReader
from survey.responses.coding import Coder

LIMIT = 256  # versions x languages kept; a busy server serves a handful of questionnaires at a time

_cache: OrderedDict[tuple, Shown] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Shown:
    """A version as the respondent page shows it: localised definition, numbered sections, codes layout.

    ``coder`` derives the stored codes from the version's own (not localised) definition; ``reader``
    reads a submission that is in order without building the form (``survey.respond.reader.QuickReader``).
    Its WTForms form class is ``forms.response.form_class_of(shown)``, cached beside it: the domain knows no
    form library. Entries compare by identity, which is what that cache keys on.
    """

    definition: dict[str, Any]
    sections: list[dict]
    coder: Coder
    reader: QuickReader
    rendered: dict[str, Any] = field(default_factory=dict)  # markup the page renders once (survey.respond.public_views)


def shown_version(version: Any, locale: Any) -> Shown:
    """The page-ready form of ``version`` in ``locale``'s language, from the cache when possible.

    ``version`` is a ``QuestionnaireVersion`` or a ``survey.respond.arrivals.VersionRef`` (whose definition is
    read only here, on a miss). The key carries the creation time as well as the id, so a database
    rebuilt with reused ids (tests, a restored backup) never meets another database's entry.
    """
    key = (version.id, version.questionnaire_id, version.created_at, language_of(locale))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    stored = version.definition  # one read for a VersionRef
    definition = localize_definition(stored, locale)
    coder = Coder.of(stored)
    shown = Shown(definition, numbered_sections(definition), coder, QuickReader(normalize_definition(definition)))
    with _lock:
        _cache[key] = shown
        while len(_cache) > LIMIT:
            _cache.popitem(last=False)
    return shown
