"use client";
import { Alert, Button, EmptyState, EmptyStateBody, Flex, FlexItem, TextInput } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useCallback, useEffect, useState } from "react";
import { errorText, trpc, type Vm } from "../lib/trpc";
import { formatAge, formatBytes } from "../lib/format";
import { ConfirmDialog } from "./ConfirmDialog";
import { JobProgress } from "./JobProgress";

type Snapshot = Awaited<ReturnType<typeof trpc.snapshots.list.query>>[number];

/**
 * A disk VM's named snapshots (docs/disks.md, "Snapshots"): take one (a running VM's holds
 * its memory), restore one after a confirmation (as a job: saving and loading memory takes
 * a while), delete one.
 */
export function SnapshotsPanel({ vm }: { vm: Vm }) {
  const [snaps, setSnaps] = useState<Snapshot[]>();
  const [tag, setTag] = useState("");
  const [error, setError] = useState<string>();
  const [jobs, setJobs] = useState<Array<{ id: string; title: string }>>([]);
  const [confirm, setConfirm] = useState<{ title: string; body: string; confirm: string; danger?: boolean; run: () => Promise<void> }>();
  const load = useCallback(() => trpc.snapshots.list.query({ name: vm.name }).then(setSnaps, (e: unknown) => setError(errorText(e))), [vm.name]);
  useEffect(() => void load(), [load]);
  const running = vm.effectiveState === "running" || vm.effectiveState === "ssh-ready";
  const onJobDone = useCallback(() => void load(), [load]);

  const take = () => {
    setError(undefined);
    trpc.snapshots.create.mutate({ name: vm.name, tag }).then(
      (job) => {
        setJobs((j) => [...j, { id: job.id, title: job.title }]);
        setTag("");
      },
      (e: unknown) => setError(errorText(e)),
    );
  };
  const restore = (s: Snapshot) =>
    setConfirm({
      title: `Restore ${vm.name} to ${s.tag}?`,
      body: s.memory
        ? `The guest goes back to ${s.tag} (${formatAge(s.createdAt)} ago), memory and disk: what it did since is lost.${running ? "" : " The VM starts, resuming the saved guest without a boot."}`
        : `The disk goes back to ${s.tag} (${formatAge(s.createdAt)} ago): what the guest wrote since is lost.`,
      confirm: "Restore",
      danger: true,
      run: async () => {
        const job = await trpc.snapshots.restore.mutate({ name: vm.name, tag: s.tag });
        setJobs((j) => [...j, { id: job.id, title: job.title }]);
      },
    });
  const remove = (s: Snapshot) =>
    setConfirm({
      title: `Delete snapshot ${s.tag}?`,
      body: `${vm.name} can no longer go back to ${s.tag}.`,
      confirm: "Delete",
      danger: true,
      run: async () => {
        await trpc.snapshots.remove.mutate({ name: vm.name, tag: s.tag });
        await load();
      },
    });

  return (
    <section aria-label="Snapshots" style={{ marginTop: 16 }}>
      <Flex alignItems={{ default: "alignItemsCenter" }} style={{ marginBottom: 16 }}>
        <FlexItem>
          <TextInput aria-label="Snapshot tag" placeholder="tag, e.g. before-upgrade" value={tag} onChange={(_e, v) => setTag(v)} />
        </FlexItem>
        <FlexItem>
          <Button variant="primary" isDisabled={!tag} onClick={take}>
            Take snapshot
          </Button>
        </FlexItem>
        <FlexItem>{running ? "Running: the snapshot holds disk and memory." : "Stopped: the snapshot holds the disk only."}</FlexItem>
      </Flex>
      {error && <Alert variant="danger" isInline title={error} role="alert" style={{ marginBottom: 16 }} />}
      {jobs.map((j) => (
        <JobProgress key={j.id} id={j.id} title={j.title} onDone={onJobDone} />
      ))}
      {snaps && !snaps.length && (
        <EmptyState titleText="No snapshots" headingLevel="h3">
          <EmptyStateBody>Take one to come back to this moment: a running VM&apos;s snapshot resumes the guest without a boot.</EmptyStateBody>
        </EmptyState>
      )}
      {snaps && snaps.length > 0 && (
        <Table aria-label="Snapshots of this VM" variant="compact">
          <Thead>
            <Tr>
              <Th>Tag</Th>
              <Th>Taken</Th>
              <Th>Memory</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {snaps.map((s) => (
              <Tr key={s.tag}>
                <Td dataLabel="Tag" className="bootc-mono">
                  {s.tag}
                </Td>
                <Td dataLabel="Taken">{formatAge(s.createdAt)} ago</Td>
                <Td dataLabel="Memory">{s.memory ? `yes (${formatBytes(s.vmStateBytes)})` : "no (disk only)"}</Td>
                <Td dataLabel="Actions" isActionCell>
                  <Button variant="secondary" size="sm" aria-label={`Restore ${s.tag}`} isDisabled={running && !s.memory} onClick={() => restore(s)}>
                    Restore
                  </Button>{" "}
                  <Button variant="link" size="sm" aria-label={`Delete ${s.tag}`} onClick={() => remove(s)}>
                    Delete
                  </Button>
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
      {confirm && (
        <ConfirmDialog
          title={confirm.title}
          body={confirm.body}
          confirm={confirm.confirm}
          danger={confirm.danger}
          onConfirm={confirm.run}
          onClose={() => setConfirm(undefined)}
        />
      )}
    </section>
  );
}
