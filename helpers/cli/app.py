"""``python -m helpers app``: the classroom web app started (the command line; the app: helpers/classroom/)."""

from __future__ import annotations

import argparse
import signal
import sys

from ..model.model_files import is_standin
from .start import NOT_STARTED, load_network


def app_command(args: argparse.Namespace) -> int:
    """``app``: the classroom web app served until Ctrl+C; the exit status (0 stopped, 1 the port cannot be
    used, 2 the model could not be loaded)."""
    from .. import classroom  # Tornado is imported only for this command: the others start without it

    local = args.host in ("127.0.0.1", "localhost", "::1")
    code = (args.code.strip().upper() if args.code else classroom.access_code()) if not local or args.code else None
    net = load_network(args)
    if net is None:
        return NOT_STARTED
    folder = classroom.session_folder()  # this session's uploads, removed at the end
    for name in ("SIGTERM", "SIGHUP"):  # `kill`, a closed terminal: stop as Ctrl+C does, deleting the uploads
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)

    teacher = classroom.teacher_key()

    def ready(url: str, queue) -> None:
        join = classroom.join_url(args.host, url, code)
        print(f"\nClassroom app: {join}")
        print(f"Your page, the teacher's (keep it to yourself: hide or remove any photo, pause, clear): "
              f"{classroom.join_url(args.host, url, None)}teacher?key={teacher}")
        if code:
            print(f"Access code: {code}  (students scan this QR code, or open the address and type the code)")
            print(classroom.qr_text(join))
        else:
            print("Only this computer can open it; start with --host 0.0.0.0 to let the class join.")
        print(f"Uploads are kept in {folder} until the app stops. Stop with Ctrl+C.", flush=True)

    try:
        standin = is_standin(args.variant)
        classroom.serve(net, host=args.host, port=args.port, folder=folder, size=args.size, code=code,
                        teacher=teacher, ready=ready, temperature=args.temperature,
                        notice="This app runs a STAND-IN model with random weights: its colours are noise, for "
                        "testing only." if standin else None)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc} (another program uses the "
              "port? try --port 8001)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped; this session's uploads are deleted.")
    return 0


def _interrupt(signum, frame) -> None:
    """A signal handler: stop as Ctrl+C does."""
    raise KeyboardInterrupt
