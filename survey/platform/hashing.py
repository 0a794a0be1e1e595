"""Keyed hashes of what identifies a person (a device cookie, an IP address): repeats can be spotted, the value
cannot be recovered, so no raw address or device token is ever stored.

The login throttle, the rate limits, the request log and the respondent path all hash the same way, so the
function lives here, below every one of them.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def keyed_hash(kind: str, value: str | None) -> str | None:
    """HMAC of a device token or an IP: repeats can be spotted, the value cannot be recovered."""
    if not value:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def device_hash(device_token: str | None) -> str | None:
    """Keyed hash of the device cookie."""
    return keyed_hash("device", device_token)
