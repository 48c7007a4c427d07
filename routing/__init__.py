"""Routing: the route table, an ALB-like local gateway, ALB listener rules and the routing CLI."""
