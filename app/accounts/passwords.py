"""Password rules: long enough, not the username, not one of the most common passwords."""

from __future__ import annotations

from functools import cache

from app.core.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 256
# what people append to a common password to pass a length rule ("password1234!")
_DECORATION = "0123456789!@#$%^&*()_-+=.,?~ "


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked-password corpora, as zxcvbn ships them."""
    # zxcvbn's ranked list (MIT licence); loaded on first use, it is a few megabytes of words
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def problem(password: str, username: str = "") -> str | None:
    """Why ``password`` may not be used by ``username``, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters (a few words make a good one)."
    if len(password) > MAX_LENGTH:
        return f"A password may have at most {MAX_LENGTH} characters."
    lowered = password.strip().lower()
    name = username.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and len(lowered.replace(name, "")) < 8)):
        return "The password must not be your username (or your username with a few characters)."
    common = common_passwords()
    core = lowered.strip(_DECORATION)
    if lowered in common or (len(core) >= 4 and core in common):
        return (
            "This password is one of the most commonly used passwords (or one with a few "
            "characters added), which attackers try first; choose another."
        )
    return None


def check(password: str, username: str = "") -> None:
    """Raise Invalid with a clear message unless ``password`` follows the rules."""
    reason = problem(password, username)
    if reason is not None:
        raise Invalid(reason)
