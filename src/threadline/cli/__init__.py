"""The ``threadline`` command line (Typer + Rich). Entry point: :func:`threadline.cli.main.main`."""
