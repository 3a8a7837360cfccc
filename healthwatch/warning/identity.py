"""Resident identity numbers: validation (GB 11643-1999) and keyed pseudonyms.

Why: a case-level line list (NNDRS-like) reports each case with the patient's resident identity
number. The platform needs the number only to merge duplicate reports of the same person; it must
never store, log or echo it. So each number is checked (a typo would split one person into two),
turned into an HMAC-SHA256 pseudonym under a secret key that lives in the configuration
(``HEALTHWATCH_PSEUDONYM_KEY``), never in the database, and then forgotten. Without the key the
same number cannot be linked to its pseudonym, even by someone holding the database.

GB 11643-1999 numbers have 18 characters: 6 digits of the registration region, 8 of the birth
date (YYYYMMDD), 3 of a sequence number and a check character: with weights
``w_i = 2^(17-i) mod 11`` (i = 0..16) on the first 17 digits, the check is
``"10X98765432"[sum(w_i d_i) mod 11]``.

>>> check_character("11010519491231002")
'X'
>>> validate_id_number("11010519491231002X") is None
True
>>> validate_id_number("110105194912310021")[0]
'the check digit does not match (GB 11643)'
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import date

from healthwatch.errors import HealthwatchError

__all__ = [
    "KEY_ENV",
    "MissingKeyError",
    "check_character",
    "pseudonym_key",
    "pseudonymise",
    "validate_id_number",
]

#: the environment variable holding the pseudonymisation key (at least 16 characters)
KEY_ENV = "HEALTHWATCH_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK = "10X98765432"


class MissingKeyError(HealthwatchError):
    """No pseudonymisation key is configured, so identities cannot be stored safely."""


def check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def validate_id_number(value: str, today: date | None = None) -> tuple[str, str] | None:
    """None if ``value`` is a well-formed GB 11643 number, else (reason_en, reason_zh).

    The reason never contains the number itself, so it can go into an error message or a log.
    """
    v = value.strip().upper()
    if len(v) != 18:
        return (
            f"must have 18 characters, has {len(v)}",
            f"应为 18 位，实际为 {len(v)} 位",
        )
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return (
            "the first 17 characters must be digits and the last a digit or X",
            "前 17 位必须为数字，最后一位为数字或 X",
        )
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return ("the birth date part (characters 7-14) is not a date", "第 7-14 位出生日期无效")
    if born > (today or date.today()) or born.year < 1880:
        return ("the birth date part is impossible", "第 7-14 位出生日期不可能")
    if int(v[:2]) < 11 or int(v[:2]) > 82:
        return (
            "the region part (characters 1-2) is not a province code",
            "第 1-2 位不是省级行政区划代码",
        )
    if check_character(v[:17]) != v[17]:
        return ("the check digit does not match (GB 11643)", "校验码不符（GB 11643）")
    return None


def pseudonym_key(key: str | bytes | None = None) -> bytes:
    """The key given, or ``$HEALTHWATCH_PSEUDONYM_KEY``; refuse when none or too short."""
    raw = key if key is not None else os.environ.get(KEY_ENV)
    if raw is None or len(raw) < MIN_KEY_LENGTH:
        raise MissingKeyError(
            f"No pseudonymisation key: set {KEY_ENV} to a secret of at least "
            f"{MIN_KEY_LENGTH} characters (kept outside the database) before loading a line "
            "list; nothing was written.",
            f"未配置假名化密钥：载入个案列表前，请将环境变量 {KEY_ENV} 设为至少 "
            f"{MIN_KEY_LENGTH} 个字符的密钥（不得存入数据库）；未写入任何数据。",
        )
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def pseudonymise(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 of the normalised number under ``key``, hex (64 characters)."""
    return hmac.new(key, id_number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()
