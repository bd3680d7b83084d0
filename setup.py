"""The `coatcheck` namespace over the design card's folders: src/ is the package `coatcheck`.

pyproject.toml holds everything else; only the package list lives here, found rather than
written out, so a new package under src/ needs no edit.
"""

from setuptools import find_packages, setup

setup(
    package_dir={"coatcheck": "src"},
    packages=["coatcheck", *(f"coatcheck.{name}" for name in find_packages("src"))],
)
