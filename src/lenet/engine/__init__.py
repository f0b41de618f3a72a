"""The engine: what computes. The C core's binding (``_core``), the layers, networks, losses,
optimisers, SDLM, the fused path and the network's inputs.

It imports nothing from the tiers above it (``lenet.data``, ``lenet.run``, ``lenet.teach``,
``lenet.cli``): a network computes the same whether a command line, a notebook or the studio
drives it.
"""
