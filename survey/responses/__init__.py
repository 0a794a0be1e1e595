"""Storing a response whoever sends it (rules, counters, numbers), its codes, its quality flags, and finding stored
responses.
"""
