"""The domain: one module per area. Views, the admin, HTML pages and commands call these functions."""
