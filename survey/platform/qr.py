"""QR codes of survey links, as PNG (posters, chat) and SVG (print at any size)."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import current_app, url_for


def public_url(token: str) -> str:
    """The absolute, short link a respondent opens: ``PUBLIC_BASE_URL`` when set, else this host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("public.respond", token=token)
    return url_for("public.respond", token=token, _external=True)


def loopback_host(url: str) -> str | None:
    """The host of ``url`` if only this machine can reach it (a QR code to it is useless on a phone)."""
    host = urlsplit(url).hostname or ""
    return host if host in ("localhost", "::1") or host.startswith("127.") else None


def _qr(url: str) -> qrcode.QRCode:
    # Level M survives a crease or a smudge on a printed poster while keeping the code small.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    """PNG bytes of the QR code for ``url``."""
    buffer = io.BytesIO()
    _qr(url).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    """SVG bytes of the QR code for ``url`` (vector, for print)."""
    buffer = io.BytesIO()
    _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()
