/**
 * A tiny local image (static busybox) used to check that podman can run a container,
 * since no registry may be reachable. The set-up (bootc setup, scripts/setup.sh) creates it.
 */
export const PROBE_IMAGE = "localhost/bootc-probe:latest";
