"use client";
import {
  Alert,
  Button,
  Switch,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Flex,
  FlexItem,
  PageSection,
  Tab,
  Tabs,
  TabTitleText,
  Title,
} from "@patternfly/react-core";
import { RowActions } from "./RowActions";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { errorText, trpc, type Vm } from "../lib/trpc";
import { formatUptime } from "../lib/format";
import { StateLabel } from "./StateLabel";
import { JobProgress } from "./JobProgress";
import { LogsView } from "./LogsView";
import { TerminalPanel } from "./TerminalPanel";
import { VmArch } from "./VmArch";
import { BootTimeline } from "./BootTimeline";
import { BootInsight } from "./BootInsight";
import { SnapshotsPanel } from "./SnapshotsPanel";
import { isActive, useVmActions } from "./VmActions";

export function VmPage({ name }: { name: string }) {
  const router = useRouter();
  const [vm, setVm] = useState<Vm | null>();
  const [error, setError] = useState<string>();
  const [tab, setTab] = useState<string | number>("serial");
  const [jobs, setJobs] = useState<Array<{ id: string; title: string }>>([]);
  const [auto, setAuto] = useState(false);
  useEffect(() => {
    trpc.vms.autoRebuildList.query().then(
      (names) => setAuto(names.includes(name)),
      () => undefined,
    );
  }, [name]);
  const actions = useVmActions(setError, () => router.push("/vms"));
  useEffect(() => {
    const sub = trpc.vms.changes.subscribe(undefined, {
      onData: (list) => setVm(list.find((v) => v.name === name) ?? null),
      onError: (e) => setError(errorText(e)),
    });
    return () => sub.unsubscribe();
  }, [name]);

  if (vm === null) {
    return (
      <PageSection>
        <Alert variant="warning" isInline title={`There is no VM named ${name}`} />
      </PageSection>
    );
  }
  const active = vm ? isActive(vm) : false;
  // Nothing probes a libvirt VM's SSH in the background: a running one with sshd is tried.
  const sshUsable = vm?.effectiveState === "ssh-ready" || (!!vm?.connection && vm.effectiveState === "running" && vm.sshPort !== undefined);
  return (
    <PageSection>
      <Flex alignItems={{ default: "alignItemsCenter" }} style={{ marginBottom: 16 }}>
        <FlexItem>
          <Title headingLevel="h1">{name}</Title>
        </FlexItem>
        {vm && (
          <FlexItem aria-label="State">
            <StateLabel state={vm.effectiveState} noSsh={!!vm.sshFailed} />
          </FlexItem>
        )}
        {vm && !active && (
          <FlexItem>
            <Button onClick={() => void actions.start(vm)}>Start</Button>
          </FlexItem>
        )}
        {vm?.source && (
          <>
            <FlexItem>
              <Button
                variant="secondary"
                onClick={() =>
                  trpc.vms.rebuild.mutate({ name }).then(
                    (j) => setJobs((js) => [j, ...js]),
                    (e: unknown) => setError(errorText(e)),
                  )
                }
              >
                Rebuild &amp; reboot
              </Button>
            </FlexItem>
            <FlexItem>
              <Switch
                id="auto-rebuild"
                label="Rebuild on change"
                isChecked={auto}
                onChange={(_e, on) =>
                  trpc.vms.autoRebuild.mutate({ name, enabled: on }).then(
                    (r) => setAuto(r.enabled),
                    (e: unknown) => setError(errorText(e)),
                  )
                }
              />
            </FlexItem>
          </>
        )}
        {vm && (
          <FlexItem align={{ default: "alignRight" }}>
            <RowActions label={`Actions for ${name}`} items={actions.items(vm)} />
          </FlexItem>
        )}
      </Flex>
      {error && <Alert variant="danger" isInline title={error} role="alert" style={{ marginBottom: 16 }} />}
      {vm && !active && (
        // A guest that powered itself off did what it was booted for (a boot-and-power-off check).
        <Alert
          variant={vm.effectiveState === "failed" ? "danger" : vm.guestPoweredOff ? "success" : "info"}
          isInline
          title={`${name} is ${vm.effectiveState}`}
          style={{ marginBottom: 16 }}
        >
          {vm.reason}
        </Alert>
      )}
      {vm && active && vm.sshFailed && (
        <Alert variant="warning" isInline title={`${name} does not answer SSH`} style={{ marginBottom: 16 }}>
          {vm.sshFailed}. The guest keeps running: its serial console reaches it, and SSH opens here once it answers.
        </Alert>
      )}
      {jobs.map((j) => (
        <JobProgress key={j.id} id={j.id} title={j.title} />
      ))}
      {vm && <BootTimeline vm={vm} />}
      <Tabs activeKey={tab} onSelect={(_e, k) => setTab(k)} aria-label="VM views" mountOnEnter>
        <Tab eventKey="serial" title={<TabTitleText>Serial console</TabTitleText>}>
          {tab === "serial" && <TerminalPanel vm={name} kind="serial" active={active} bootId={vm?.timeline[0]?.at ?? ""} />}
        </Tab>
        <Tab eventKey="ssh" title={<TabTitleText>SSH</TabTitleText>} isAriaDisabled={!sshUsable}>
          {tab === "ssh" && <TerminalPanel vm={name} kind="ssh" active={sshUsable} bootId={vm?.timeline[0]?.at ?? ""} />}
        </Tab>
        <Tab eventKey="logs" title={<TabTitleText>Logs</TabTitleText>}>
          {tab === "logs" && <LogsView vm={name} />}
        </Tab>
        <Tab eventKey="boot" title={<TabTitleText>Boot</TabTitleText>}>
          {tab === "boot" && vm && <BootInsight vm={vm} />}
        </Tab>
        {vm?.mode === "disk" && !vm.connection && (
          <Tab eventKey="snapshots" title={<TabTitleText>Snapshots</TabTitleText>}>
            {tab === "snapshots" && <SnapshotsPanel vm={vm} />}
          </Tab>
        )}
        <Tab eventKey="details" title={<TabTitleText>Details</TabTitleText>}>
          {vm && (
            <DescriptionList isHorizontal style={{ marginTop: 16 }}>
              <DescriptionListGroup>
                <DescriptionListTerm>Image</DescriptionListTerm>
                <DescriptionListDescription className="bootc-mono">{vm.image}</DescriptionListDescription>
              </DescriptionListGroup>
              {vm.source && (
                <DescriptionListGroup>
                  <DescriptionListTerm>Built from</DescriptionListTerm>
                  <DescriptionListDescription className="bootc-mono">{vm.source}</DescriptionListDescription>
                </DescriptionListGroup>
              )}
              <DescriptionListGroup>
                <DescriptionListTerm>Architecture</DescriptionListTerm>
                <DescriptionListDescription>
                  <VmArch vm={vm} />
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>Mode</DescriptionListTerm>
                <DescriptionListDescription>
                  {vm.mode}
                  {vm.disk
                    ? ` (${vm.disk.builder} builder${vm.disk.sizeBytes ? `, ${Math.round(vm.disk.sizeBytes / 1024 ** 3)} GiB` : ""}${vm.disk.base ? `, base disk ${vm.disk.base.slice(0, 12)}` : ""})`
                    : ""}
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>Resources</DescriptionListTerm>
                <DescriptionListDescription>
                  {vm.cpus} vCPU, {vm.memoryMiB} MiB, {vm.accel.toUpperCase()} ({vm.accelReason})
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>Uptime</DescriptionListTerm>
                <DescriptionListDescription>{formatUptime(vm.uptimeSec)}</DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>SSH</DescriptionListTerm>
                <DescriptionListDescription className="bootc-mono">
                  {vm.sshPort
                    ? `bootc ssh ${vm.name}   (${vm.sshUser}@127.0.0.1:${vm.sshPort}${vm.connection ? ` on ${vm.hostName}` : ""})`
                    : "no sshd in the image"}
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>Ports</DescriptionListTerm>
                <DescriptionListDescription>
                  {vm.forwards.length ? vm.forwards.map((f) => `127.0.0.1:${f.host} → ${f.guest}`).join(", ") : "none"}
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>Shared folders</DescriptionListTerm>
                <DescriptionListDescription>
                  {vm.binds.length ? vm.binds.map((b) => `${b.host} → ${b.guest}${b.readOnly ? " (read-only)" : ""}`).join(", ") : "none"}
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>Kernel</DescriptionListTerm>
                <DescriptionListDescription className="bootc-mono">
                  {vm.kernel ?? "—"} {vm.kargs.join(" ")}
                </DescriptionListDescription>
              </DescriptionListGroup>
              <DescriptionListGroup>
                <DescriptionListTerm>qemu command line</DescriptionListTerm>
                <DescriptionListDescription className="bootc-mono">{vm.qemuArgs?.join(" ") ?? "—"}</DescriptionListDescription>
              </DescriptionListGroup>
              {vm.warnings.length > 0 && (
                <DescriptionListGroup>
                  <DescriptionListTerm>Warnings</DescriptionListTerm>
                  <DescriptionListDescription>{vm.warnings.join(" · ")}</DescriptionListDescription>
                </DescriptionListGroup>
              )}
            </DescriptionList>
          )}
        </Tab>
      </Tabs>
      {actions.dialog}
    </PageSection>
  );
}
