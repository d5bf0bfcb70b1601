"""den's benchmark against docker, podman and runc (driven by bench/run.sh)."""
