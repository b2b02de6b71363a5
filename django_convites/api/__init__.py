"""Everything that depends on Django REST framework lives under this package."""
