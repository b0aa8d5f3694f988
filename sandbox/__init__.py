"""The sandbox cluster: a Kubernetes API emulator on loopback with a simulated Dynamo operator."""
