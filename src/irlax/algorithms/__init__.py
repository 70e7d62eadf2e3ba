"""Every algorithm that learns from demonstrations, one file each, and the registry that names them."""
