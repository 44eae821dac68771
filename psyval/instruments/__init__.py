"""Questionnaires as data: the YAML schema, its loader and its validation."""
