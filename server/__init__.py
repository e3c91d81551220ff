"""The Storyarn process: settings, app factory, lifespan, CLI, the websocket sync endpoint,
the room manager, authentication and HTTP routes. It wires everything; nothing imports it.
"""

__version__ = "0.1.0"
