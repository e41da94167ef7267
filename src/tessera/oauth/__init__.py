"""The OAuth 2 authorization server: Authlib's protocol core on Tessera's storage.

May import: tessera.core, tessera.services, tessera.store and Authlib (the only package that
does). Knows no web framework: an ``OAuthRequest`` snapshot goes in, an ``OAuthResponse`` comes
out, and ``tessera.web`` does the I/O. Authlib is untyped; its ``Any`` stays in this package.
"""
