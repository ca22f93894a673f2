"""What operators watch: Prometheus metrics, one JSON log line per request, request ids.

Kept free of imports here, so the plain ``metrics`` module can be used below the Flask layer.
"""
