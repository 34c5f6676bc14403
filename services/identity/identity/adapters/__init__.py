"""MongoDB repositories, password hashing and token signing of the identity service."""
