"""Chapters: the network's structure of regions, chapters abroad and nodes in Mexican states."""

from flask import Blueprint

bp = Blueprint("chapters", __name__)
