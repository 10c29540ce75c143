"""Where the notebook templates live, and ``decision-stack notebooks --to DIR``.

One source: ``notebooks/*.py`` in the checkout (where analysts open them). The wheel
maps that folder to the package ``analysis.templates`` (see ``setup.py``), so an
installed ``decision-stack report`` finds the same templates without the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.errors import BadInputError

__all__ = ["ANALYST_NOTEBOOKS", "notebook_dir", "template_names", "write_notebooks"]

#: the checkout's notebooks folder (absent in an installed wheel)
_CHECKOUT = Path(__file__).resolve().parents[2] / "notebooks"

#: templates an analyst opens first, in order (any other template is copied too)
ANALYST_NOTEBOOKS = ("explore_team", "rep_gaps", "team_quarterly")


def notebook_dir() -> Path:
    """The folder of the notebook templates: the checkout's ``notebooks/``, else the package's.

    Examples
    --------
    >>> (notebook_dir() / "team_quarterly.py").is_file()
    True
    """
    if (_CHECKOUT / "team_quarterly.py").is_file():
        return _CHECKOUT
    try:
        from importlib.resources import files

        packaged = Path(str(files("analysis.templates")))
    except (ModuleNotFoundError, TypeError):  # not installed with its templates
        return _CHECKOUT
    return packaged


def template_names() -> list[str]:
    """Names of the notebook templates shipped (``team_quarterly``, ...), sorted.

    Examples
    --------
    >>> {"team_quarterly", "explore_team", "rep_gaps"} <= set(template_names())
    True
    """
    folder = notebook_dir()
    return sorted(
        p.stem
        for p in folder.glob("*.py")
        if not p.name.startswith(("_", ".")) and p.read_text(encoding="utf-8").count("# %%")
    )


def write_notebooks(to: str | Path, *, force: bool = False) -> list[Path]:
    """Copy every notebook template into ``to`` (jupytext ``.py`` notebooks); return the paths.

    An existing notebook is never overwritten unless ``force``: the analyst may have
    edited it (bad input, exit 2, nothing written).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> [p.name for p in write_notebooks(d)][:1]
    ['explore_team.py']
    >>> write_notebooks(d)
    Traceback (most recent call last):
    ...
    analysis.errors.BadInputError: ...: explore_team.py already exists (use --force to replace)
    """
    target = Path(to)
    if target.exists() and not target.is_dir():
        raise BadInputError("not a folder", file=target)
    names = template_names()
    if not force:
        for name in names:
            if (target / f"{name}.py").exists():
                raise BadInputError(
                    f"{name}.py already exists (use --force to replace)", file=target
                )
    target.mkdir(parents=True, exist_ok=True)
    folder = notebook_dir()
    written = []
    for name in names:
        dest = target / f"{name}.py"
        shutil.copyfile(folder / f"{name}.py", dest)
        written.append(dest)
    return written
