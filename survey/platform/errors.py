"""Refusals a person is shown as a page of their own, whatever raised them.

The respondent path raises ``Refused`` deep inside storing a response (a closed questionnaire, a full quota, a
second answer from one device); ``survey.platform.web`` turns it into the phone page that says why. It lives
here, below both, so the web layer needs nothing of the respondent path to show it.
"""

from __future__ import annotations


class Refused(Exception):
    """A submission (or a visit) the questionnaire's rules turn away; ``status`` is the HTTP status."""

    def __init__(self, title, message, status: int):
        super().__init__(str(message))
        self.title, self.message, self.status = title, message, status
