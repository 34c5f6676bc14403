"""Identity service: portal access, sign-in, MFA, SSO and sessions."""
