"""Durable storage of documents: the `DocumentStore` port and its implementations.

May import: `crdt` (schema views for projections), never `server` or `workers`.
"""
