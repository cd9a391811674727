"""Okno: an open-source help desk, one window for every customer request."""

__version__ = "0.1.0"
