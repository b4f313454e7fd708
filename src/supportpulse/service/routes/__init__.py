"""One module per group of routes under /api/v1, plus health at the root."""
