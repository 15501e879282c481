"""``python -m helpers fetch|photo|video|app ...`` (``--help`` on each): the command line, in helpers/cli/."""
from .cli import main

raise SystemExit(main())
