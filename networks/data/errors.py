"""Errors raised by the data loaders."""

from __future__ import annotations


class DatasetUnavailableError(FileNotFoundError):
    """An optional dataset is not installed; the message names what provides it."""
