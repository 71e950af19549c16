"""API keys: made once, stored hashed, sent as ``Authorization: Bearer hs_<prefix>_<secret>``.

The prefix finds the key's row with one indexed lookup; the secret is compared by its SHA-256
hash. A key holds 256 random bits, so a fast hash is enough: there is nothing to brute-force
that a slow password hash would protect.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiKey

KEYWORDS = ("Bearer", "Api-Key")
KEY_START = "hs_"
# last_used_at is written at most this often per key: a busy integration must not turn every
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, owner: AbstractBaseUser, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Make a key for `owner` with the given scopes. Returns the row and the key itself,
    which is not stored anywhere and cannot be shown again."""
    unknown = sorted(set(scopes) - set(ApiKey.Scope.values))
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
    prefix = secrets.token_hex(4)
    key = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        owner=owner,
        name=name,
        prefix=prefix,
        secret_hash=_hash(key),
        scopes=sorted(set(scopes), key=ApiKey.Scope.values.index),
    )
    return api_key, key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Stop a key from working; the row stays, for the record."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_check(key: str) -> ApiKey | None:
    """The active key that `key` is, with its owner loaded; None when it is no key of ours,
    revoked, or its owner is inactive."""
    parts = key.split("_")
    if len(parts) < 3 or not key.startswith(KEY_START):
        return None
    prefix = parts[1]
    api_key = ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, _hash(key)):
        return None
    if api_key.revoked_at is not None or not api_key.owner.is_active:
        return None
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional: of two requests at once, one writes.
        ApiKey.objects.filter(pk=api_key.pk).exclude(
            last_used_at__gt=now - LAST_USED_RESOLUTION
        ).update(last_used_at=now)
        api_key.last_used_at = now


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``: the request acts as the key's owner; ``request.auth``
    is the ApiKey, so that permissions can check its scopes."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as “Authorization: Bearer <key>”.")
        api_key = api_key_check(header[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        api_key_mark_used(api_key=api_key)
        return api_key.owner, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
