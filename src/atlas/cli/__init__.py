"""The ``atlas`` command: one module per noun."""
