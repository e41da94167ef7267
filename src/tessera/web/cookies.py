"""The names of Tessera's browser cookies, shared by the pages and the API's session check."""

#: The login session (HttpOnly, SameSite=Lax): Deskpro's ``agent_session`` on the API.
SESSION_COOKIE = "tessera_session"
#: The double-submit CSRF secret (HttpOnly, SameSite=Strict).
CSRF_COOKIE = "tessera_csrf"
#: An API request authenticated by the session cookie and changing something must echo the
#: CSRF cookie in this header (Deskpro v1's name for its request token).
CSRF_HEADER = "x-deskpro-request-token"
