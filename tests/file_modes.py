"""Running a child process held to file modes: root may write any file whatever its mode, so tests of
read-only files run their process without the capabilities that let it."""

from __future__ import annotations

import os
import shutil

import pytest

#: Root may write any file whatever its mode; without these capabilities it is held to the modes.
_NO_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def held_to_file_modes() -> list[str]:
    """The command prefix that runs a process held to file modes (none when not root); skips the test
    when running as root without ``setpriv``."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only file cannot be made read-only to root")
    return _NO_OVERRIDE
