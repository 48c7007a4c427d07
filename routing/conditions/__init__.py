"""ALB listener-rule conditions: one module per field, listed in registry.py."""
