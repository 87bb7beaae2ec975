"""Local stand-ins that speak the real protocols of the services the collection drives.

One package used by the pytest fixtures, the Molecule scenarios and the demo alike:

* ``standins.aws``    - moto in server mode (subprocess) and an in-process variant with
  delays and fault injection.
* ``standins.kube``   - a Kubernetes API emulator good enough for real helm 3/4, kubectl,
  the kubernetes Python client and kubernetes.core.
* ``standins.azure``  - an HTTPS fake of the Azure Resource Manager routes used by the
  Cosmos DB and Flexible Server SDKs.

Every server listens on 127.0.0.1 with an ephemeral port, reports where it listens through
a "ready file", and is stopped by PID (see ``standins._process``).
"""
