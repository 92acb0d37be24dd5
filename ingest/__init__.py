"""Submission intake: package sources, readers, checks, the gate."""
