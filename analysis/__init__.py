"""decision-stack: measure the sales decision stack from the activity log."""

__version__ = "0.1.0"
