#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/kbox/images/incluster.py (t_nodes' in-cluster pod): python3-kubernetes'
load_incluster_config() (KUBERNETES_SERVICE_HOST/PORT, the projected token and CA),
then a list of the pod's namespace's pods. Prints one JSON line: host, port, the
service-account files, the namespace and the pods' names."""
import json
import os

from kubernetes import client, config

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
config.load_incluster_config()
ns = open(os.path.join(SA, "namespace")).read()
names = [p.metadata.name for p in client.CoreV1Api().list_namespaced_pod(ns).items]
print(json.dumps({"host": os.environ.get("KUBERNETES_SERVICE_HOST"), "port": os.environ.get("KUBERNETES_SERVICE_PORT"),
                  "files": sorted(f for f in os.listdir(SA) if not f.startswith("..")), "namespace": ns,
                  "pods": names}))
