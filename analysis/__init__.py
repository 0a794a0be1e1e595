"""Pure analysis: frames from answers, counts, rates, intervals and exports. No Flask, no requests.

Inputs are plain data: a *schema* (list of question dicts with ``key``, ``number``, ``text``,
``storage`` in {one, many, text}, ``measure``, ``rate_label``, ``options``) and response records
(dicts with ``answers`` and metadata). Outputs are dataclasses and DataFrames that keep exact
numerators and denominators, so every printed figure can be traced and re-derived.
"""
