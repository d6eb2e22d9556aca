"""Helpers shared by every test package: waiting for a condition, a controllable clock, markers."""
