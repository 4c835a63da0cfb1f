"""nova-pydock: a Nova compute driver for Docker-compatible engines."""
