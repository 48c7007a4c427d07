"""FastAPI adapters shared by the send and verify services."""
