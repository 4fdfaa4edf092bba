"""Planners (floor 3): task + observation + history -> one Decision. rule (no model), dpot,
react and autoui (model-backed); the protocol is in base."""
