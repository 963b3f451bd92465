"""The one place the version is written: pyproject.toml reads it (setuptools' dynamic version)."""

__version__ = "0.2.0"

# The name on the package index: `pip install torch-ganzoo` (the import name, the CLI and the plugin
# entry-point group stay `ganzoo`). "ganzoo" there is an unrelated 2018 project, so nothing may tell
# a user to install it; pyproject.toml's [project] name must equal this (a test checks).
DISTRIBUTION = "torch-ganzoo"
# What exports written before the rename record as the distribution of the built-in variants.
FORMER_DISTRIBUTIONS = ("ganzoo",)
