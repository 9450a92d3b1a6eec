"""HTTP APIs: the native REST API and the vendor dialects."""
