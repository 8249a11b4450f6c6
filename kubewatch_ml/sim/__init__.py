"""The simulated ML cluster: the real Kubernetes REST API and real exporter formats on loopback."""
