"""Shipped Cedar policies (installed with the package as ``service.policies``)."""
