"""Packaging beyond pyproject.toml: the notebook templates ship inside the package.

One source: ``notebooks/*.py`` stays where analysts open it; the wheel maps that folder
to the package ``analysis.templates`` (no committed copy that could drift).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["analysis", "analysis.*"]), "analysis.templates"],
    package_dir={"analysis.templates": "notebooks"},
    package_data={"analysis.templates": ["*.py"]},
    exclude_package_data={"analysis.templates": ["*.ipynb"]},
)
