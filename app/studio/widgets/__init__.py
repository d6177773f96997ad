"""Views: each takes a model and subscribes to its signals."""
