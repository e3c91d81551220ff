"""Durable storage: the `DocumentStore` port and its implementations, the relational tables
(identity, projections, assets, jobs), and the `BlobStore` port for files (local folder | S3).

May import: `crdt` (schema views for projections), never `server` or `workers`.
"""
