"""Running: recipes, the training loop, run folders and checkpoints. It drives the engine and
reads the data; it knows no page and no picture.
"""
