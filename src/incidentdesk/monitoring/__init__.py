"""What an operator watches: Prometheus metrics at /metrics, request logs (plain or JSON)."""
