"""The road to Slack: the gateway (the only caller of the Web API), the typed layer over it
(post, update, invite, channel lookup, join-and-retry) and the durable outbox for everything that is
not the answer to a user's own request."""
