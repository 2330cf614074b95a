"""The package's architecture holds: its import contracts (``[tool.importlinter]`` in pyproject.toml).

The web edge (``api``, ``ui``) is imported by nothing below it, what runs in a DAG never imports
FastAPI, web code reaches AWS only through the actions, and no two modules or folders of the
package import each other in a circle. Import Linter reads the contracts and the real import graph,
in a process of its own: it reconfigures logging, which other tests read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_the_package_keeps_its_import_contracts():
    lint_imports = Path(sys.executable).parent / "lint-imports"

    done = subprocess.run(
        [str(lint_imports), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 5 kept, 0 broken." in done.stdout
