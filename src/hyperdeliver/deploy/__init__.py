"""Deployment: Kubernetes manifests rendered from the app itself (:mod:`.k8s`), from the
Jinja2 files under ``templates/k8s/``, and the ``hyper check --deploy`` checks (:mod:`.checks`)."""
