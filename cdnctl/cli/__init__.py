"""The ``cdnctl`` command line.

Server side: ``serve``, ``worker``, ``db upgrade``. Client side (over HTTP to a
running server): ``purge``, ``prefetch``, ``block``, ``unblock``, ``tasks``,
``task``, ``cancel``, ``quota``, ``nodes``, ``blocks``. Every option can also be
set through an environment variable, shown in ``--help`` (``CDNCTL_SERVER``,
``CDNCTL_TOKEN``, ``CDNCTL_CONFIG``, or ``CDNCTL_<COMMAND>_<OPTION>``).

Exit codes: 0 success; 1 API, connection or configuration error; 2 usage
error; 3 a waited task failed, timed out or was canceled; 4 ``--wait`` gave up.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import click

from cdnctl.cli import query, server, submit


def _version() -> str:
    try:
        return version("cdnctl")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(name="cdnctl", context_settings={"auto_envvar_prefix": "CDNCTL",
                               "help_option_names": ["-h", "--help"],
                               "max_content_width": 100})
@click.version_option(_version(), prog_name="cdnctl")
def cli() -> None:
    """cdnctl: purge, prefetch and block content on your cache nodes, with per-node proof.

    \b
    Start here:   cdnctl serve            (no config: a demo you can purge within a minute)
    Then:         cdnctl purge --wait https://www.example.com/index.html
    """


for _command in (*server.COMMANDS, *submit.COMMANDS, *query.COMMANDS):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``cdnctl`` console entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="cdnctl",
             auto_envvar_prefix="CDNCTL")


__all__ = ["cli", "main"]
