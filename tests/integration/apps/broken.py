"""A test app that cannot be imported: one of its own imports is missing."""

import module_that_does_not_exist  # type: ignore[import-not-found]  # noqa: F401

app = None
