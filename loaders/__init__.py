"""crm7 loaders: read XML that follows a crm7 contract and stream it into raw PostgreSQL tables."""

__version__ = "0.1.0"
