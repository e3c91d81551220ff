"""Background work (exports, imports, assets, cleanup, compaction) on taskiq.

May import: `persistence` and `crdt`, never `server`.
"""
