"""The JSON API v2, one module per resource: its routes and its request/response models."""
