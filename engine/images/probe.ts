/**
 * A tiny local image (static busybox) used to check that podman can run a container,
 * since no registry may be reachable. scripts/setup.sh creates it.
 */
export const PROBE_IMAGE = "localhost/bootc-probe:latest";
