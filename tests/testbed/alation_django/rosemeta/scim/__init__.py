"""The simulated Alation's SCIM 2.0 service: django-scim2 configured and extended where an IdP's
provisioning cycle needs more than it ships (discovery list responses, SCIM error bodies,
attribute projection, /.search, RFC 7644 PATCH paths with value filters, Entra's and Okta's
request forms). Token authentication stays in rosemeta.middleware."""
