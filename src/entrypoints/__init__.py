"""Ways into coatcheck: the HTTP service, the CLI, and the container that wires them."""
