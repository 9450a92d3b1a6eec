"""``python -m cdnctl`` runs the command line."""

from __future__ import annotations

from cdnctl.cli import main

if __name__ == "__main__":
    main()
