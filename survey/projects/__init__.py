"""The desk (projects and their dashboards), the read API, help, the CLI and the demo data."""
