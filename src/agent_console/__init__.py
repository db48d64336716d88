"""Agent Console: a terminal console for telecom front-line service."""

__version__ = "0.1.0"
