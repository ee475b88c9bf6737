"""Forms of the handoffs app, one module per area."""
