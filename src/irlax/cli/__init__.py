"""The ``irlax`` command line (thin: parsing, progress and output; the work is in the library)."""
