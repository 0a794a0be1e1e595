"""Rounds of a series: linking a questionnaire to its previous round and pairing the questions compared (issue 25)."""
