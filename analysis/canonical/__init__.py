"""Canonical tables: schemas, reading and validation with quarantine."""
