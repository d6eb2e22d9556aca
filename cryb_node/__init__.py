"""CRYB node: a self-hostable community platform in one Python process over SQLite."""

__version__ = "0.1.0"
