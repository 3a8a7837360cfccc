"""Application services: what combines the store with the pure models.

One module per capability (``services.access``, ``services.data``, ``services.warning`` …). The
CLI and the web app call these functions and hold no logic of their own; ``surveillance/``,
``access/`` models and ``evaluate/`` methods never import the store, and this layer is where the
two meet. Every function that writes takes the acting user and runs in one transaction.
"""
