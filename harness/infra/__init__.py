"""Infrastructure: backends, Toxiproxy and its client, images, processes."""
