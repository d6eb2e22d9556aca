"""Fixtures for the polls tests: the content tests' node and community (a text and a forum channel,
an owner and a member), reused as they are."""

from tests.content.conftest import Space, cc, make_space, space  # noqa: F401
