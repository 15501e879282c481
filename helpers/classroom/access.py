"""Who may do what: the access code, the teacher's key, the phones' secrets and their cookies: the classroom app.

When the app listens beyond this computer, every request needs the access code printed at the start
(and shown as a QR code for phones), and wrong codes are slowed down (``WrongCodes``). Each photo is
its owner's: only the phone that sent it (a secret in its cookie) sees the original, colours it
again or removes it. The teacher has a key of their own. Codes and keys never travel in cookies:
a phone that gave one gets a random token instead (``new_secret``).
"""

from __future__ import annotations

import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Access-code letters: no 0/O or 1/I, easy to read off a projector."""
CODE_LETTERS = 6
"""Letters of an access code: quick to type on a phone, hopeless to guess at ``WRONG_CODE_PAUSE``."""
OWNER_COOKIE, SESSION_COOKIE, TEACHER_COOKIE = "classroom_owner", "classroom_session", "classroom_teacher"
"""Cookies: the phone's owner secret (its photos), and a random token for a phone that gave the
access code (never the code itself), or for a browser that gave the teacher's key."""
COOKIE_DAYS = 1
"""How long the cookies last: one school day."""
WRONG_CODES_ALLOWED, WRONG_CODE_PAUSE = 5, 2.0
"""After this many wrong access codes from one address, each further try waits this many seconds
more (doubling, up to a minute): guessing a 6-letter code becomes hopeless, a typo costs nothing."""
LONGEST_PAUSE, MOST_DOUBLINGS = 60.0, 5
"""The wait after wrong codes doubles at most this many times, and never exceeds this many seconds."""
ADDRESSES_REMEMBERED = 10_000
"""Addresses with wrong codes kept at most: a flood from many addresses is forgotten, rather than grow without end."""


def new_secret() -> str:
    """A new random secret: a phone's owner secret (it names the owner of all the photos that phone
    sends), or the token of a session that gave the access code or the teacher's key."""
    return secrets.token_urlsafe(18)


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets typed or sent by anyone: any text, never an error."""
    return secrets.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def teacher_key() -> str:
    """A new key for the teacher's page: long, random, printed in the terminal only."""
    return secrets.token_urlsafe(12)


def access_code() -> str:
    """A new 6-letter access code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LETTERS))


class WrongCodes:
    """Wrong access codes per client address, and how long the next try from there must wait."""

    def __init__(self) -> None:
        self._wrong: dict[str, int] = {}

    def count(self, address: str) -> None:
        if len(self._wrong) > ADDRESSES_REMEMBERED:
            self._wrong.clear()
        self._wrong[address] = self._wrong.get(address, 0) + 1

    def forget(self, address: str) -> None:
        self._wrong.pop(address, None)

    def pause(self, address: str) -> float:
        """Seconds the next try from ``address`` waits: 0 for the first ``WRONG_CODES_ALLOWED`` wrong codes."""
        extra = self._wrong.get(address, 0) - WRONG_CODES_ALLOWED
        return 0.0 if extra < 0 else min(LONGEST_PAUSE, WRONG_CODE_PAUSE * 2 ** min(extra, MOST_DOUBLINGS))


def code_page(wrong: bool) -> str:
    """The small page that asks for the access code (``wrong``: after a wrong one), as HTML text."""
    hint = "<p class=wrong>That code is not right.</p>" if wrong else ""
    return ("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            "<title>Colourise: access code</title><body style='font-family:sans-serif;max-width:30em;margin:2em auto'>"
            f"<h1>Access code</h1>{hint}<p>Ask your teacher for the code on the projector.</p>"
            "<form method=get action='/'><input name=code autocapitalize=characters autofocus "
            "style='font-size:2em;width:8em'> <button style='font-size:1.5em'>Go</button></form>")
