"""Campagne: the whole digital operation of a political campaign, in one Django project."""

__version__ = "0.1.0"
