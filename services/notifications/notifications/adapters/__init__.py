"""The outgoing-mail collection in MongoDB and the SMTP gateway."""
