"""Events to members: a transactional outbox, a dispatcher to Litestar channels, and Server-Sent Events."""
