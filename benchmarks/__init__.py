"""Measurements of http-trigger on a real embedded stack; each script records, never asserts."""
