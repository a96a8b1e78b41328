"""Everything that speaks Shopify's Admin API: the documents Clout sends, and Shopify's own
schema (vendored) that those documents and the local emulator are held to."""
