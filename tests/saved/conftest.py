"""Saved items tests run on the communities tests' node (real users over HTTP)."""

from tests.communities.conftest import cclient  # noqa: F401 (the fixture)
