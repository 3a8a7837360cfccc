"""Passwords and API tokens: the complexity rule, Argon2 hashing, token generation (pure).

Why these rules: China's cybersecurity classified protection (网络安全等级保护 2.0, GB/T 22239-2019,
level 3), which the Liaoning plan orders for health information systems, asks for identification
with passwords of sufficient complexity, replaced periodically, and for the stored form not to
reveal them. The rule here is the one assessors usually check: at least 8 characters, at least
three of the four classes (upper case, lower case, digits, other characters), and not containing
the user name.

Passwords are stored as Argon2id hashes (argon2-cffi's defaults, the RFC 9106 second recommended
setting); :func:`verify_password` also says when a stored hash uses older parameters and should
be rehashed. API tokens are 256 random bits: a brute-force search is hopeless whatever the hash,
so they are stored as SHA-256 digests, which lets a request's token be looked up by an index
instead of being verified against every stored hash.

>>> [p.reason_en for p in password_problems("abc", "li")][0]
'The password must be at least 8 characters long.'
>>> password_problems("Liaoning-2025", "wang")
[]
"""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from healthwatch.errors import HealthwatchError, InputError, Problem

__all__ = [
    "MIN_LENGTH",
    "TOKEN_PREFIX",
    "AuthenticationError",
    "check_password",
    "hash_password",
    "hash_token",
    "new_token",
    "password_problems",
    "verify_password",
]

MIN_LENGTH = 8
TOKEN_PREFIX = "hw_"

_hasher = PasswordHasher()
#: A hash of a random password, verified against when the user does not exist, so that the
#: answer for an unknown name takes as long as for a wrong password (no user enumeration by time).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AuthenticationError(HealthwatchError):
    """Wrong user name or password, a locked or disabled account, or an invalid token."""


def _classes(password: str) -> int:
    """How many of the four character classes the password uses."""
    return sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c in string.digits for c in password),
            any(not c.isalnum() for c in password),
        )
    )


def password_problems(password: str, username: str) -> list[Problem]:
    """Every way ``password`` breaks the level-3 complexity rule (empty list: acceptable)."""
    problems: list[Problem] = []
    if len(password) < MIN_LENGTH:
        problems.append(
            Problem(
                f"The password must be at least {MIN_LENGTH} characters long.",
                f"密码长度至少为 {MIN_LENGTH} 位。",
                field="password",
            )
        )
    if _classes(password) < 3:
        problems.append(
            Problem(
                "The password must use at least three of: upper-case letters, lower-case "
                "letters, digits, other characters.",
                "密码须至少包含大写字母、小写字母、数字、其他字符中的三类。",
                field="password",
            )
        )
    if username and username.lower() in password.lower():
        problems.append(
            Problem(
                "The password must not contain the user name.",
                "密码不得包含用户名。",
                field="password",
            )
        )
    if password != password.strip() or any(c in password for c in "\r\n\t\0"):
        problems.append(
            Problem(
                "The password must not start or end with spaces or contain control characters.",
                "密码首尾不得为空格，且不得包含控制字符。",
                field="password",
            )
        )
    return problems


def check_password(password: str, username: str) -> None:
    """Raise :class:`InputError` listing every broken rule, or return quietly."""
    problems = password_problems(password, username)
    if problems:
        raise InputError(
            problems,
            "The password does not meet the complexity rule; nothing was changed.",
            "密码不符合复杂度要求，未作任何修改。",
        )


def hash_password(password: str) -> str:
    """The Argon2id hash to store (salted; the password cannot be recovered from it)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). ``stored_hash`` None checks against a dummy to keep timing even."""
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored_hash is None:
        return False, False
    return True, _hasher.check_needs_rehash(stored_hash)


def new_token() -> str:
    """A fresh API token: ``hw_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
