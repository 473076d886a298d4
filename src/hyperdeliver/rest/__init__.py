"""REST adapter: operations served over HTTP with problem+json errors and OpenAPI 3.1."""
