"""``python -m codemods`` and the ``loopsafe`` command.

A ``check`` the findings cache answers is printed without loading the click app
(``codemods.cached_check``: start-up is most of such a run); everything else goes to
the click app (``codemods.cli``).
"""

from __future__ import annotations

import sys


def main() -> None:
    from codemods.cached_check import answer

    status = answer(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from codemods.cli import main as command_line

    command_line(prog_name="loopsafe")


if __name__ == "__main__":
    main()
