"use client";
import { Label } from "@patternfly/react-core";
import type { Vm } from "../lib/trpc";

/**
 * A VM's guest architecture (podman's name, as `bootc list` shows it), labelled "emulated"
 * when it is not the host's: a record carries `arch` only for a foreign guest.
 */
export function VmArch({ vm }: { vm: Vm }) {
  return (
    <>
      {vm.guestArch ?? "—"}
      {vm.arch && (
        <>
          {" "}
          <Label isCompact color="orange" title="another architecture than the host's: emulated by qemu under TCG, several times slower than a native boot">
            emulated
          </Label>
        </>
      )}
    </>
  );
}
