"""Optimal adversarial examples: exact, certified solvers and baseline attacks (upper bounds)."""
