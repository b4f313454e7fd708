"""File ingest: CSV and JSON Lines read as a stream into canonical records."""
