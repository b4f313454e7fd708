"""Tests for supportpulse.store."""
