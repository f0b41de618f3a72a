"""Teaching: a trace shown in a notebook, the pictures, the exercises, the studio, and the same
networks in PyTorch. It reads every tier below it and none reads it.
"""
