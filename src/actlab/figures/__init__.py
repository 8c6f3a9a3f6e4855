"""Figures: they take analysis results (and the objects they describe) and draw them; they never
recompute a result. Every writer goes through ``actlab.fileio.atomic_write``."""
