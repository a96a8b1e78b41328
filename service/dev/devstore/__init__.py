"""A local stand-in for a Shopify store's Admin GraphQL API, for development, tests and the demo.

NOT for production: it holds a generated store in memory, accepts any token it was given, and
sends webhooks signed with a secret you choose. `clout devstore` runs it.
"""
