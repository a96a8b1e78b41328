"""Development tools installed with Clout: the local Shopify (`clout devstore`) and `clout demo`.
Never used by the running service."""
