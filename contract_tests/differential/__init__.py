"""Differential mode: one scripted scenario against two deployments, compared field by field."""
