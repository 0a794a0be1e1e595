"""Designed samples and weighting: population tables, the weighting scheme, the sample plan (issue 24)."""
