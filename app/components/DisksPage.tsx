"use client";
import { Alert, Button, EmptyState, EmptyStateBody, Flex, FlexItem, PageSection, Title } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { errorText, trpc } from "../lib/trpc";
import { formatAge, formatBytes } from "../lib/format";
import { BootDialog } from "./BootDialog";
import { ConfirmDialog } from "./ConfirmDialog";
import { ExportDialog } from "./ExportDialog";
import { JobProgress } from "./JobProgress";

type Disk = Awaited<ReturnType<typeof trpc.disks.list.query>>[number];

/** Where an exported root came from, as the CLI says it. */
function podmanOf(d: Disk): string {
  if (d.kind !== "root" || !d.podman) return "";
  const p = d.podman;
  return "url" in p ? `the podman at ${p.url}` : "connection" in p ? `podman connection “${p.connection}”` : "podman’s default connection";
}

/** The base-disk cache of disk-mode VMs: what it holds, who uses it, and pruning; and booting a disk file. */
export function DisksPage() {
  const router = useRouter();
  const [bootingFile, setBootingFile] = useState(false);
  const [disks, setDisks] = useState<Disk[]>();
  const [error, setError] = useState<string>();
  const [confirm, setConfirm] = useState<{ title: string; body: string; run: () => Promise<void> }>();
  const [exporting, setExporting] = useState<{ image?: string }>();
  const [jobs, setJobs] = useState<Array<{ id: string; title: string }>>([]);
  const load = useCallback(() => trpc.disks.list.query().then(setDisks, (e: unknown) => setError(errorText(e))), []);
  useEffect(() => void load(), [load]);

  const prune = (all: boolean) =>
    trpc.disks.prune.mutate({ all, dryRun: true }).then(
      (doomed) => {
        if (!doomed.length)
          return setError(
            all ? "Nothing to prune: every cached disk is used by a VM." : "Nothing outdated to prune (use “Prune all unused” to remove every unused disk).",
          );
        setConfirm({
          title: all ? "Remove every unused base disk?" : "Remove outdated base disks?",
          body: `${doomed.length} entr${doomed.length === 1 ? "y" : "ies"}, ${formatBytes(doomed.reduce((n, d) => n + d.usageBytes, 0))} on the host: ${doomed.map((d) => d.image || d.key.slice(0, 12)).join(", ")}. VMs booting these images later rebuild (or export) them again.`,
          run: async () => {
            await trpc.disks.prune.mutate({ all, dryRun: false });
            await load();
          },
        });
      },
      (e: unknown) => setError(errorText(e)),
    );

  return (
    <PageSection>
      <Flex alignItems={{ default: "alignItemsCenter" }} style={{ marginBottom: 16 }}>
        <FlexItem>
          <Title headingLevel="h1">Disks</Title>
        </FlexItem>
        <FlexItem align={{ default: "alignRight" }}>
          <Button variant="primary" onClick={() => setBootingFile(true)}>
            Boot a disk file…
          </Button>
        </FlexItem>
        <FlexItem>
          <Button variant="secondary" onClick={() => setExporting({})}>
            Export…
          </Button>
        </FlexItem>
        <FlexItem>
          <Button variant="secondary" onClick={() => void prune(false)}>
            Prune outdated
          </Button>
        </FlexItem>
        <FlexItem>
          <Button variant="secondary" onClick={() => void prune(true)}>
            Prune all unused
          </Button>
        </FlexItem>
      </Flex>
      {jobs.map((j) => (
        <JobProgress key={j.id} id={j.id} title={j.title} onDone={() => void load()} />
      ))}
      {error && (
        <Alert
          variant="info"
          isInline
          title={error}
          actionClose={
            <Button variant="plain" onClick={() => setError(undefined)}>
              Dismiss
            </Button>
          }
          style={{ marginBottom: 16 }}
        />
      )}
      {disks && disks.length === 0 && (
        <EmptyState titleText="No cached disks" headingLevel="h2">
          <EmptyStateBody>Boot an image with “Persistent disk”: its base disk is made once and shared by every VM of that image.</EmptyStateBody>
        </EmptyState>
      )}
      {disks && disks.length > 0 && (
        <p style={{ marginBottom: 8 }}>
          {disks.length} cached {disks.length === 1 ? "entry" : "entries"}, {formatBytes(disks.reduce((n, d) => n + d.usageBytes, 0))} on the host
          {disks.some((d) => d.kind === "root") ? " (exported roots: the root filesystems of images in another podman, for ephemeral boots)" : ""}.
        </p>
      )}
      {disks && disks.length > 0 && (
        <Table aria-label="Cached base disks" variant="compact">
          <Thead>
            <Tr>
              <Th>Image</Th>
              <Th>Builder</Th>
              <Th>Disk size</Th>
              <Th>On host</Th>
              <Th>Made</Th>
              <Th>Used by</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {disks.map((d) => (
              <Tr key={d.key}>
                <Td dataLabel="Image" className="bootc-mono">
                  {d.image || d.key.slice(0, 12)}
                  {d.kind === "root" && d.podman ? ` (${podmanOf(d)})` : ""}
                  {d.imageCurrent ? "" : " (outdated)"}
                </Td>
                <Td dataLabel="Builder">{d.kind === "root" ? "exported root" : d.builder}</Td>
                <Td dataLabel="Disk size">{d.kind === "root" ? "—" : formatBytes(d.sizeBytes)}</Td>
                <Td dataLabel="On host">{formatBytes(d.usageBytes)}</Td>
                <Td dataLabel="Made">{formatAge(d.createdAt)} ago</Td>
                <Td dataLabel="Used by">
                  {d.usedBy.length
                    ? d.usedBy.map((n, i) => (
                        <span key={n}>
                          {i > 0 && ", "}
                          <Link href={`/vms/${n}`}>{n}</Link>
                        </span>
                      ))
                    : "—"}
                </Td>
                <Td isActionCell>
                  {d.kind === "disk" && (
                    <Button variant="link" aria-label={`Export ${d.image}`} onClick={() => setExporting({ image: d.image })}>
                      Export…
                    </Button>
                  )}
                  <Button
                    variant="link"
                    isDanger
                    isDisabled={d.usedBy.length > 0}
                    aria-label={`Remove ${d.kind === "root" ? "exported root" : "base disk"} of ${d.image || d.key.slice(0, 12)}`}
                    onClick={() =>
                      setConfirm({
                        title: `Remove the ${d.kind === "root" ? "exported root" : "base disk"} of ${d.image || d.key.slice(0, 12)}?`,
                        body: `${formatBytes(d.usageBytes)} on the host. A VM booting this image later ${d.kind === "root" ? "exports it again" : "rebuilds it"}.`,
                        run: async () => {
                          await trpc.disks.remove.mutate({ key: d.key });
                          await load();
                        },
                      })
                    }
                  >
                    Remove
                  </Button>
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
      {bootingFile && <BootDialog onClose={() => setBootingFile(false)} onBooted={(vm) => router.push(`/vms/${vm}`)} />}
      {exporting && (
        <ExportDialog
          image={exporting.image}
          onClose={() => setExporting(undefined)}
          onStarted={(job) => {
            setExporting(undefined);
            setJobs((j) => [job, ...j]);
          }}
        />
      )}
      {confirm && (
        <ConfirmDialog title={confirm.title} body={confirm.body} confirm="Remove" danger onConfirm={confirm.run} onClose={() => setConfirm(undefined)} />
      )}
    </PageSection>
  );
}
