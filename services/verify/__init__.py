"""The verify service: check codes."""
