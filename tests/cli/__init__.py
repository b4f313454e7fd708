"""Tests for supportpulse.cli."""
