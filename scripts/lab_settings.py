"""JupyterLab settings for the project environment: ``.py`` files open as notebooks.

    python scripts/lab_settings.py .venv

Writes (merging with what is there) ``<venv>/share/jupyter/lab/settings/overrides.json``
so that double-clicking a jupytext ``.py`` notebook opens it as a notebook (the
"Jupytext Notebook" viewer) instead of the text editor.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PLUGIN = "@jupyterlab/docmanager-extension:plugin"
VIEWERS = {"python": "Jupytext Notebook"}


def main(venv: str) -> int:
    path = Path(venv) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings = json.loads(path.read_text()) if path.exists() else {}
    plugin = settings.setdefault(PLUGIN, {})
    plugin.setdefault("defaultViewers", {}).update(VIEWERS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".venv"))
