"""File downloads from the evaluator desk."""

from __future__ import annotations

from flask import Response


def pdf_attachment(body: bytes, filename: str) -> Response:
    """A PDF as a download; private and not cached, since it holds a project's figures."""
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "private, no-store"
    return response
