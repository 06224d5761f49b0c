"""Protocol constants shared by capture, diagnosis and the emulator (RFC 6749/7521/7523)."""

from __future__ import annotations

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
"""``grant_type`` of the JWT bearer authorization grant (RFC 7523 section 2.1)."""
JWT_BEARER_CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""``client_assertion_type`` of JWT client authentication (RFC 7523 section 2.2)."""
CLIENT_CREDENTIALS = "client_credentials"
"""``grant_type`` of the client credentials grant (RFC 6749 section 4.4)."""
FORM_TYPE = "application/x-www-form-urlencoded"
"""The only body encoding a token endpoint must accept (RFC 6749 section 3.2, appendix B)."""
