"""softmax-oracle."""
