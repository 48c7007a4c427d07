"""Dev tasks for the kit: run the system locally, run the tests, start an embedded Redis."""
