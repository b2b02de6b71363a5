"""Optional integrations with other Django apps; each imports its app only when it is imported itself."""
