"""Reusable widgets: they take plain data and post messages; they never touch the store."""
