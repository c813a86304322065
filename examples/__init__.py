"""Examples of threadline: event files and tracked pipelines (run from the repository root)."""
