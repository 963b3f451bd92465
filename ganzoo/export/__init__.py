"""Exports: a trained generator as a folder laid out like a Hugging Face model repo.

    export/
      model.safetensors   generator weights, named by the generators' own modules ("G.blocks.0.conv.weight")
      config.json         export format 2 (docs/export-format.md): variant and plugin, the generator's
                          class and flat constructor arguments, an io block, the training record
      README.md           model card: Hub metadata, how to load it with ganzoo or with torch alone
      samples.png         the final sample grid, shown in the card

The package, one module a concern:

- ``format``: the format itself (file names, version, :class:`ExportInfo` to and from JSON,
  :func:`locate`); every other module, in or out of this package, reads the format through it.
- ``describe``: a variant as an export (the io block, its ExportInfo, the reproducing command).
- ``folder``: writing the folder and loading it back as a :class:`ganzoo.Model`.
- ``card``: the model card.
- ``legacy``: format 1 (ganzoo 0.1), read and never written; only ``folder`` and the checkpoint
  reader call it.

The names below are imported on first use: ``ganzoo.model`` needs ``format`` while the loader
needs ``ganzoo.model``, so this package must not import its loader when it is itself imported.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "FORMAT_VERSION": "format",
    "WEIGHTS": "format",
    "CONFIG": "format",
    "CARD": "format",
    "GRID": "format",
    "RESULTS": "format",
    "PICKLE_SUFFIXES": "format",
    "ExportInfo": "format",
    "GeneratorSpec": "format",
    "PluginRef": "format",
    "TrainingRecord": "format",
    "locate": "format",
    "read_doc": "format",
    "export_info": "describe",
    "io_block": "describe",
    "reproduce_command": "describe",
    "generator_state": "folder",
    "write_export": "folder",
    "load_export": "folder",
    "CARD_MARK": "card",
    "model_card": "card",
    "refresh_card": "card",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ganzoo.export' has no attribute {name!r}")
