"""Retention and deletion of responses, counted and audited."""
