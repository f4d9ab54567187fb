"use client";
import { useState } from "react";
import { errorText, trpc, type Vm } from "../lib/trpc";
import { ConfirmDialog } from "./ConfirmDialog";

const ACTIVE = ["creating", "booting", "running", "ssh-ready", "stopping"];
export const isActive = (vm: Vm) => ACTIVE.includes(vm.effectiveState);

type Pending = { kind: "stop" | "force" | "remove"; vm: Vm } | undefined;

/** The menu actions a VM's state allows, and the confirmations that guard them. */
export function useVmActions(onError: (message: string) => void, afterRemove?: () => void) {
  const [pending, setPending] = useState<Pending>();
  const run = (p: Promise<unknown>) => p.catch((e: unknown) => onError(errorText(e)));

  const items = (vm: Vm) =>
    isActive(vm)
      ? [
          { title: "Stop", onClick: () => setPending({ kind: "stop", vm }) },
          { title: "Force stop", onClick: () => setPending({ kind: "force", vm }) },
          { title: "Restart", onClick: () => void run(trpc.vms.restart.mutate({ name: vm.name })) },
          { isSeparator: true },
          { title: "Remove", onClick: () => setPending({ kind: "remove", vm }) },
        ]
      : [
          { title: "Start", onClick: () => void run(trpc.vms.start.mutate({ name: vm.name })) },
          { title: "Remove", onClick: () => setPending({ kind: "remove", vm }) },
        ];

  const dialog = pending && (
    <ConfirmDialog
      danger={pending.kind !== "stop"}
      title={
        pending.kind === "remove"
          ? `Remove VM ${pending.vm.name}?`
          : pending.kind === "force"
            ? `Force stop VM ${pending.vm.name}?`
            : `Stop VM ${pending.vm.name}?`
      }
      body={
        pending.kind === "remove" ? (
          <p>
            Removes {pending.vm.name}: its record, SSH key, serial log{isActive(pending.vm) ? ", and the running guest (killed first)" : ""}. What the guest
            wrote is lost (ephemeral VMs keep nothing). The image {pending.vm.image} stays.
          </p>
        ) : pending.kind === "force" ? (
          <p>Kills {pending.vm.name} at once, like pulling the power cord. Unsaved guest data is lost.</p>
        ) : (
          <p>Asks {pending.vm.name} to shut down (ACPI); it is killed if it has not powered off after 60 seconds.</p>
        )
      }
      confirm={pending.kind === "remove" ? "Remove" : pending.kind === "force" ? "Force stop" : "Stop"}
      onConfirm={async () => {
        const vm = pending.vm;
        try {
          if (pending.kind === "remove") {
            await trpc.vms.remove.mutate({ name: vm.name, force: true });
            afterRemove?.();
          } else {
            await trpc.vms.stop.mutate({ name: vm.name, force: pending.kind === "force" });
          }
        } catch (e) {
          throw new Error(errorText(e));
        }
      }}
      onClose={() => setPending(undefined)}
    />
  );
  return { items, dialog, start: (vm: Vm) => run(trpc.vms.start.mutate({ name: vm.name })) };
}
