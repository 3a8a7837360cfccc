"""healthwatch: a health commission's five-year plan as checked data, and the tools around it.

Layers, each importing only those above it in this list:
plans, regions -> store -> data -> evaluate -> reports; surveillance and access are pure
computation on arrays; warning builds on surveillance and store; web and cli sit on top.
"""

__version__ = "0.1.0"
