"""A loopback Polymarket: the CLOB's REST and WebSocket protocol over the matching venue.

``clobsim serve-mock`` runs it; the official client (py-clob-client-v2) and the live
adapter talk to it unchanged. Binds 127.0.0.1 only.
"""
