"""Network pieces: MLPs, observation statistics and action distributions."""
