"""heron.messages: the contract the server, the framework and the hosting adapters all speak.

A ``Request`` (the parsed head, a body stream, and what is derived from
them: query, cookies, media types) goes up to a ``Handler``; a
``Response`` (or one of its family) comes back down. The server produces
requests and sends responses, the framework (``heron.web``) builds
handlers from them, and the hosting adapters (``heron.hosting``)
translate them to and from WSGI environs and ASGI events. Nothing here
touches a socket: it imports only ``heron.protocol`` and the root modules.
"""
