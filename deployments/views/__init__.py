"""Deployment views: `deploy` builds and creates DGDs, `dashboard` watches and deletes them."""
