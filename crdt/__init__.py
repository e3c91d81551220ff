"""Pure Yjs logic for Storyarn: no I/O, no logging set-up, no environment.

The y-websocket message codec, the sans-IO room protocol, the document schemas (tree, flow,
page) as typed views, and a structural reader of Yjs v1 updates used to validate them before
they touch a Doc. May import: pycrdt and the standard library, nothing of ours.
"""
