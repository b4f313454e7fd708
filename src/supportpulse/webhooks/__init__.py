"""Vendor webhooks: verify who sent them, then ask the engine to poll.

A webhook carries no record the store trusts: a verified one only makes the
engine poll its source now, and the poll's cursor delivers the change
exactly once. `verify` checks each vendor's signature scheme with no I/O;
`events` remembers event ids so a redelivery is recognised.
"""
