"""The ``python -m helpers`` command line (README's 'Command line' section)."""

from __future__ import annotations

import sys

from .app import app_command
from .fetch import fetch_command
from .parser import build_parser, files_before_restore
from .photos import photo_command
from .start import NOT_STARTED, STOPPED, opencv_works
from .videos import video_command

COMMANDS = {"app": app_command, "fetch": fetch_command, "photo": photo_command, "video": video_command}
"""What runs each sub-command: ``COMMANDS[name](args)`` returns its exit status."""


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m helpers ARGS`` (``argv``: ARGS; default ``sys.argv[1:]``) and return its exit status.

    Each command says itself what Ctrl+C stopped; one pressed outside them (while the options are read,
    OpenCV checked or a command starts) is one line, not a traceback.
    """
    try:
        args = build_parser().parse_args(files_before_restore(sys.argv[1:] if argv is None else argv))
        if not opencv_works():
            return NOT_STARTED
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return STOPPED
