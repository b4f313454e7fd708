"""supportpulse: real-time customer-support analytics."""

__version__ = "0.1.0"
