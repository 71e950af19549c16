"""Endpoint secrets: made here, stored encrypted (Fernet) with WEBHOOK_SECRET_KEY, and decrypted
only to sign a request. A secret is shown to people once, when made; it is never logged."""

import base64
import hashlib
import secrets as random

from cryptography.fernet import Fernet
from django.conf import settings

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def webhook_secret_generate() -> str:
    """A new Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    # Any text works as the key: it is stretched to Fernet's 32 bytes, so a Fernet key, a
    # long random string or (in development) SECRET_KEY all do.
    digest = hashlib.sha256(settings.WEBHOOK_SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def webhook_secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def webhook_secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
