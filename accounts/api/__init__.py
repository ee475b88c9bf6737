"""The REST API's foundation: personal-token authentication, cursor pagination, one
error body, Idempotency-Key on POST, the OpenAPI schema and its docs page. Each app adds
its endpoints in its own api package (handoffs.api, followups.api), through the same
selectors and services as its pages."""
