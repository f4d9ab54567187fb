"use client";
import {
  Alert,
  Button,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  FormSelect,
  FormSelectOption,
  PageSection,
  Title,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { RowActions } from "./RowActions";
import Link from "next/link";
import { useEffect, useState } from "react";
import { errorText, trpc, type Vm } from "../lib/trpc";
import { formatUptime } from "../lib/format";
import { StateLabel } from "./StateLabel";
import { VmArch } from "./VmArch";
import { isActive, useVmActions } from "./VmActions";

export function VmsPage() {
  const [vms, setVms] = useState<Vm[]>();
  const [error, setError] = useState<string>();
  const actions = useVmActions(setError);
  // "" shows every host's VMs; "local" bootc's own; otherwise one libvirt host's.
  const [hostFilter, setHostFilter] = useState("");
  const hostOf = (vm: Vm) => vm.hostName ?? "local";
  const hostNames = [...new Set((vms ?? []).map(hostOf))].sort();
  const shown = (vms ?? []).filter((vm) => !hostFilter || hostOf(vm) === hostFilter);
  useEffect(() => {
    const sub = trpc.vms.changes.subscribe(undefined, { onData: (list) => setVms(list), onError: (e) => setError(errorText(e)) });
    return () => sub.unsubscribe();
  }, []);

  return (
    <PageSection>
      <Title headingLevel="h1" style={{ marginBottom: 16 }}>
        Virtual machines
      </Title>
      {error && (
        <Alert
          variant="danger"
          isInline
          title={error}
          role="alert"
          actionClose={
            <Button variant="plain" onClick={() => setError(undefined)}>
              Dismiss
            </Button>
          }
          style={{ marginBottom: 16 }}
        />
      )}
      {vms && vms.length === 0 && (
        <EmptyState titleText="No virtual machines" headingLevel="h2">
          <EmptyStateBody>Boot a bootc image to get one: it starts in seconds, with a serial console and SSH.</EmptyStateBody>
          <EmptyStateFooter>
            <EmptyStateActions>
              <Link href="/">
                <Button variant="primary">Choose an image</Button>
              </Link>
            </EmptyStateActions>
          </EmptyStateFooter>
        </EmptyState>
      )}
      {vms && hostNames.length > 1 && (
        <FormSelect
          id="vm-host-filter"
          aria-label="Show VMs of host"
          value={hostFilter}
          onChange={(_e, v) => setHostFilter(v)}
          style={{ maxWidth: 320, marginBottom: 16 }}
        >
          <FormSelectOption value="" label="All hosts" />
          {hostNames.map((h) => (
            <FormSelectOption key={h} value={h} label={h === "local" ? "This machine (bootc's own runtime)" : `${h} (libvirt)`} />
          ))}
        </FormSelect>
      )}
      {vms && vms.length > 0 && (
        <Table aria-label="Virtual machines" variant="compact">
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>State</Th>
              <Th>Image</Th>
              <Th>Architecture</Th>
              <Th>Mode</Th>
              <Th>SSH</Th>
              <Th>Uptime</Th>
              <Th>Host</Th>
              <Th screenReaderText="Main action" />
              <Th screenReaderText="More actions" />
            </Tr>
          </Thead>
          <Tbody>
            {shown.map((vm) => (
              <Tr key={vm.name} aria-label={`VM ${vm.name}`}>
                <Td dataLabel="Name">
                  <Link href={`/vms/${vm.name}`}>{vm.name}</Link>
                </Td>
                <Td dataLabel="State">
                  <StateLabel state={vm.effectiveState} noSsh={!!vm.sshFailed} />
                </Td>
                <Td dataLabel="Image" className="bootc-mono">
                  {vm.image}
                </Td>
                <Td dataLabel="Architecture">
                  <VmArch vm={vm} />
                </Td>
                <Td dataLabel="Mode">{vm.mode}</Td>
                <Td dataLabel="SSH">
                  {vm.sshPort && (vm.effectiveState === "ssh-ready" || (vm.connection && vm.effectiveState === "running"))
                    ? `${vm.connection ? vm.hostName : "127.0.0.1"}:${vm.sshPort}`
                    : "—"}
                </Td>
                <Td dataLabel="Uptime">{formatUptime(vm.uptimeSec)}</Td>
                <Td dataLabel="Host">{hostOf(vm)}</Td>
                <Td dataLabel="Main action">
                  {isActive(vm) ? (
                    <Link href={`/vms/${vm.name}`}>
                      <Button variant="secondary" size="sm" aria-label={`Console of ${vm.name}`}>
                        Console
                      </Button>
                    </Link>
                  ) : (
                    <Button variant="secondary" size="sm" aria-label={`Start ${vm.name}`} onClick={() => void actions.start(vm)}>
                      Start
                    </Button>
                  )}
                </Td>
                <Td isActionCell>
                  <RowActions label={`Actions for ${vm.name}`} items={actions.items(vm)} />
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
      {actions.dialog}
    </PageSection>
  );
}
