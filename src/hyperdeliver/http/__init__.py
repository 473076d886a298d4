"""HTTP pieces shared by every HTTP adapter (REST, GraphQL, the dashboard, ops): the
problem+json renderer, request ids, bodies, cookies."""
