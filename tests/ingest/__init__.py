"""Tests for supportpulse.ingest."""
