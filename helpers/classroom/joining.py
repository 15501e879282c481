"""How the class joins: the address students open, and its QR code for the projector: the classroom app."""

from __future__ import annotations

import io
import socket

QR_ERROR_CORRECTION = "m"
"""QR error correction level M (15% may be lost): still scans off a projector with glare."""
QR_SVG_SCALE, QR_SVG_BORDER = 8, 2
"""Pixels per module of the QR code's picture, and its quiet zone in modules."""
ANY_ADDRESS = ("0.0.0.0", "::")
"""Host names that listen on every network of this computer."""
PROBE_ADDRESS = ("10.255.255.255", 1)
"""A private address no one needs to answer: "connecting" a UDP socket to it picks the outgoing interface."""


def join_url(host: str, listening: str, code: str | None) -> str:
    """The address students open: this computer's address on the local network when listening on
    all of them (found without sending anything), with the access code for the QR code.

    ``listening`` is the server's own address (``http://host:port/``); ``code`` None: no code in it.
    """
    url = listening
    if host in ANY_ADDRESS:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(PROBE_ADDRESS)  # UDP: picks the outgoing interface, sends no packet
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
        finally:
            probe.close()
        url = listening.replace(f"//{host}:", f"//{address}:")
    return f"{url}?code={code}" if code else url


def qr_text(url: str) -> str:
    """A QR code of ``url`` drawn with text blocks, for the terminal (phones scan it off the projector)."""
    import segno

    out = io.StringIO()
    segno.make(url, error=QR_ERROR_CORRECTION).terminal(out=out, compact=True)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    """A QR code of ``url`` as an SVG picture (UTF-8 bytes), for the class's page on the projector."""
    import segno

    out = io.BytesIO()
    segno.make(url, error=QR_ERROR_CORRECTION).save(out, kind="svg", scale=QR_SVG_SCALE, border=QR_SVG_BORDER)
    return out.getvalue()
