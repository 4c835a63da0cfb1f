"""glance_store_layers: a Glance store that keeps every image layer once."""
