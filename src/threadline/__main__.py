"""``python -m threadline`` runs the command line."""

from __future__ import annotations

from threadline.cli.main import main

if __name__ == "__main__":
    main()
