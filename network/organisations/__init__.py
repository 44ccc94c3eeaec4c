"""Organisations in Mexico that ask the network for expertise."""
