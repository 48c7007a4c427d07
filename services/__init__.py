"""Extracted FastAPI services of the verification API (see docs/api.md)."""
