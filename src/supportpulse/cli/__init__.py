"""The `supportpulse` command line."""
