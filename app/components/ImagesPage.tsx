"use client";
import {
  Alert,
  Button,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  Label,
  PageSection,
  TextInput,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { RowActions } from "./RowActions";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { errorText, trpc, type Image } from "../lib/trpc";
import { formatAge, formatBytes, imageName } from "../lib/format";
import { BootDialog } from "./BootDialog";
import { ConfirmDialog } from "./ConfirmDialog";
import { JobProgress } from "./JobProgress";
import { PodmanPicker, type PodmanChoice } from "./PodmanPicker";

export function ImagesPage() {
  const router = useRouter();
  const [images, setImages] = useState<Image[]>();
  const [error, setError] = useState<string>();
  const [booting, setBooting] = useState<string>();
  const [removing, setRemoving] = useState<string>();
  const [pullRef, setPullRef] = useState("");
  const [buildDir, setBuildDir] = useState("");
  const [buildTag, setBuildTag] = useState("");
  const [jobs, setJobs] = useState<Array<{ id: string; title: string }>>([]);
  const [which, setWhich] = useState<PodmanChoice>();
  const podman = which?.podman;
  // Pull, build and remove act on the podman shown; the demo build is the server's own podman's.
  const remote = !!podman;

  const refresh = useCallback(() => {
    if (!which) return;
    trpc.images.list.query({ all: false, ...(which.podman ? { podman: which.podman } : {}) }).then(
      (list) => {
        setImages(list);
        setError(undefined);
      },
      (e: unknown) => {
        setImages(undefined);
        setError(errorText(e));
      },
    );
  }, [which]);
  useEffect(() => {
    setImages(undefined);
    refresh();
    const t = setInterval(refresh, 10_000);
    return () => clearInterval(t);
  }, [refresh]);

  const startJob = async (start: () => Promise<{ id: string; title: string }>) => {
    try {
      const job = await start();
      setJobs((j) => [job, ...j]);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const buildDemo = () => startJob(() => trpc.images.buildDemo.mutate());
  const hasBootc = images?.some((i) => i.bootc);

  return (
    <PageSection>
      <Title headingLevel="h1" style={{ marginBottom: 16 }}>
        Images
      </Title>
      <PodmanPicker onChange={setWhich} />
      {which && (
        <p style={{ marginBottom: 8 }}>Showing the images of {which.name ? `${which.name}, ${which.label}` : `this server's podman (${which.label})`}.</p>
      )}
      {remote && (
        <p style={{ marginBottom: 8 }}>
          Booting one of them copies nothing into the server&apos;s podman: its root filesystem is exported once into the server&apos;s cache (ephemeral mode),
          or its disk is built there (disk mode). Pull, build (the directory is on the server, and is sent there) and remove act on that podman; the demo image
          is built in the server&apos;s own podman only.
        </p>
      )}
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <TextInput
              aria-label="Image to pull"
              placeholder="quay.io/fedora/fedora-bootc:42"
              value={pullRef}
              onChange={(_e, v) => setPullRef(v)}
              style={{ minWidth: 320 }}
            />
          </ToolbarItem>
          <ToolbarItem>
            <Button
              variant="secondary"
              isDisabled={!pullRef.trim()}
              onClick={() => void startJob(() => trpc.images.pull.mutate({ ref: pullRef.trim(), ...(podman ? { podman } : {}) }))}
            >
              Pull
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="secondary" isDisabled={remote} onClick={() => void buildDemo()}>
              Build the demo image
            </Button>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <TextInput
              aria-label="Containerfile directory"
              placeholder="/path/to/dir/with/Containerfile"
              value={buildDir}
              onChange={(_e, v) => setBuildDir(v)}
              style={{ minWidth: 320 }}
            />
          </ToolbarItem>
          <ToolbarItem>
            <TextInput aria-label="Image name" placeholder="localhost/my-image:latest" value={buildTag} onChange={(_e, v) => setBuildTag(v)} />
          </ToolbarItem>
          <ToolbarItem>
            <Button
              variant="secondary"
              isDisabled={!buildDir.trim() || !buildTag.trim()}
              onClick={() => void startJob(() => trpc.images.build.mutate({ dir: buildDir.trim(), tag: buildTag.trim(), ...(podman ? { podman } : {}) }))}
            >
              Build
            </Button>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      {error && <Alert variant="danger" isInline title={error} role="alert" style={{ marginBottom: 16 }} />}
      {jobs.map((j) => (
        <JobProgress key={j.id} id={j.id} title={j.title} onDone={refresh} />
      ))}
      {images && !hasBootc && !remote && (
        <EmptyState titleText="No bootable image yet" headingLevel="h2">
          <EmptyStateBody>
            A bootc image carries a kernel and the label containers.bootc=1. Build the offline demo image (Debian, about two minutes), pull one, or build your
            own with podman.
          </EmptyStateBody>
          <EmptyStateFooter>
            <EmptyStateActions>
              <Button variant="primary" onClick={() => void buildDemo()}>
                Build the demo image
              </Button>
            </EmptyStateActions>
          </EmptyStateFooter>
        </EmptyState>
      )}
      {images && images.length > 0 && (
        <Table aria-label="Images" variant="compact">
          <Thead>
            <Tr>
              <Th>Image</Th>
              <Th>Type</Th>
              <Th>ID</Th>
              <Th>Architecture</Th>
              <Th>Size</Th>
              <Th>Created</Th>
              <Th screenReaderText="Boot" />
              <Th screenReaderText="More actions" />
            </Tr>
          </Thead>
          <Tbody>
            {images.map((i) => {
              const name = imageName(i);
              return (
                <Tr key={i.id + name}>
                  <Td dataLabel="Image" className="bootc-mono">
                    {name}
                  </Td>
                  <Td dataLabel="Type">{i.bootc ? <Label color="blue">bootc</Label> : <Label variant="outline">container</Label>}</Td>
                  <Td dataLabel="ID" className="bootc-mono" title={i.digest}>
                    {i.id.slice(0, 12)}
                  </Td>
                  <Td dataLabel="Architecture">
                    {i.arch || "—"}
                    {i.emulation && (
                      <>
                        {" "}
                        <Label isCompact color="orange" title={i.emulation}>
                          emulated
                        </Label>
                      </>
                    )}
                  </Td>
                  <Td dataLabel="Size">{formatBytes(i.sizeBytes)}</Td>
                  <Td dataLabel="Created">{i.createdAt ? `${formatAge(i.createdAt)} ago` : "—"}</Td>
                  <Td dataLabel="Boot">
                    {i.bootc && (
                      <Button variant="primary" size="sm" aria-label={`Boot ${name}`} onClick={() => setBooting(name)}>
                        Boot
                      </Button>
                    )}
                  </Td>
                  <Td isActionCell>
                    <RowActions label={`Actions for ${name}`} items={[{ title: "Remove", onClick: () => setRemoving(name) }]} />
                  </Td>
                </Tr>
              );
            })}
          </Tbody>
        </Table>
      )}
      {booting && (
        <BootDialog
          image={booting}
          podman={podman && which ? { connection: podman, label: which.label } : undefined}
          emulation={images?.find((i) => imageName(i) === booting)?.emulation}
          onClose={() => setBooting(undefined)}
          onBooted={(vm) => router.push(`/vms/${vm}`)}
        />
      )}
      {removing && (
        <ConfirmDialog
          title={`Remove image ${removing}?`}
          body={<p>The image is deleted from {which?.podman ? which.label : "the server's podman storage"}. VMs using it must be removed first.</p>}
          confirm="Remove"
          danger
          onConfirm={async () => {
            await trpc.images.remove.mutate({ ref: removing, ...(podman ? { podman } : {}) }).catch((e: unknown) => {
              throw new Error(errorText(e));
            });
            refresh();
          }}
          onClose={() => setRemoving(undefined)}
        />
      )}
    </PageSection>
  );
}
