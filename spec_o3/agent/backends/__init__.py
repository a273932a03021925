"""Policies behind the inspection loop: ``expert`` (scripted astronomer), ``transformers``, ``openai``."""
