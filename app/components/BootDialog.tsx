"use client";
import {
  Alert,
  Button,
  Checkbox,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  NumberInput,
  Radio,
  Spinner,
  TextInput,
} from "@patternfly/react-core";
import { useCallback, useEffect, useRef, useState } from "react";
import { defaultChoices, GiB, hasSavedChoices, loadChoices, saveChoices, type Choices } from "../lib/boot-choices";
import { fieldIssues, useRunOptions, type FieldIssue, type RunOptionFacts } from "../lib/run-options";
import { errorText, trpc } from "../lib/trpc";
import { FieldHelp } from "./FieldHelp";
import { JobProgress } from "./JobProgress";
import { FirstBootFields, firstBootInput } from "./FirstBootFields";
import { ForwardRows, ShareRows } from "./BootRows";

type Hosts = Awaited<ReturnType<typeof trpc.host.hosts.query>>;

const PREMADE = "premade disk";
/** The words for each pull policy; a policy the server adds later shows as its name. */
const PULL_LABELS: Record<string, string> = { missing: "If it is not local", always: "Always, before booting", never: "Never" };

/**
 * Boot an image as a VM (ephemeral or disk mode), or without an image a premade disk file
 * (`bootc run --disk`): the options of `bootc run`, remembered per image. Defaults, limits
 * and hints are the server's (meta.runOptions); so are the errors, each under its field.
 */
/** The podman the image is in when it is not the server's own (the Images page's choice). */
type RemotePodman = { connection: NonNullable<Parameters<typeof trpc.vms.run.mutate>[0]["podman"]>; label: string };

export function BootDialog({
  image,
  podman,
  emulation,
  onClose,
  onBooted,
}: {
  image?: string;
  podman?: RemotePodman;
  /** The server's words when the image is another architecture than the host's. */
  emulation?: string;
  onClose: () => void;
  onBooted: (name: string) => void;
}) {
  const { facts, error } = useRunOptions();
  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby="boot-title">
      {image ? (
        <ModalHeader
          title={`Boot ${image}`}
          labelId="boot-title"
          description={
            podman
              ? `An image of ${podman.label}: its root filesystem is exported once into this server's cache (nothing is copied into the server's podman), and booted ephemeral.`
              : "Nothing is ever written to the image: an ephemeral VM boots its root filesystem directly; a disk VM writes to its own disk."
          }
        />
      ) : (
        <ModalHeader
          title="Boot a disk file"
          labelId="boot-title"
          description="A .qcow2 or .raw disk you already have, booted with UEFI. The VM writes to an overlay of its own: your file is never written."
        />
      )}
      {emulation && (
        <ModalBody>
          <Alert variant="warning" isInline isPlain title={emulation.split(":")[0]!}>
            {emulation.slice(emulation.indexOf(":") + 1).trim()}
          </Alert>
        </ModalBody>
      )}
      {facts ? (
        <BootForm image={image} podman={podman?.connection} facts={facts} onClose={onClose} onBooted={onBooted} />
      ) : (
        <ModalBody>
          {error ? (
            <Alert variant="danger" isInline title="Cannot load the boot options" role="alert">
              {errorText(error)}
            </Alert>
          ) : (
            <Spinner size="lg" aria-label="Loading the boot options" />
          )}
        </ModalBody>
      )}
    </Modal>
  );
}

function BootForm({
  image,
  podman,
  facts,
  onClose,
  onBooted,
}: {
  image?: string;
  podman?: RemotePodman["connection"];
  facts: RunOptionFacts;
  onClose: () => void;
  onBooted: (name: string) => void;
}) {
  const choicesKey = image ?? PREMADE;
  const [c, setC] = useState<Choices>(() => loadChoices(choicesKey, defaultChoices(facts)));
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Choices>(k: K, v: Choices[K]) => setC((old) => ({ ...old, [k]: v }));
  const [hosts, setHosts] = useState<Hosts>();
  useEffect(() => {
    void trpc.host.hosts.query().then(
      (h) => {
        setHosts(h);
        // A remembered host that was since forgotten falls back to the server's default.
        const remembered = hasSavedChoices(choicesKey);
        setC((old) => ((!remembered || old.host) && !h.hosts.some((x) => x.name === old.host) ? { ...old, host: h.default } : old));
      },
      () => setHosts({ hosts: [], default: "" }),
    );
  }, [choicesKey]);
  // A libvirt VM is a disk-mode VM of an image; shared folders only on this machine's libvirt.
  // An image of another podman boots under bootc's own runtime here.
  const libvirt = !!c.host && !podman;
  const sharesOk = !libvirt || !!hosts?.hosts.find((h) => h.name === c.host)?.local;
  const mode = libvirt ? "disk" : c.mode;
  // The dialog counts the disk in whole GiB.
  const diskMin = Math.max(1, Math.ceil((facts.diskSizeBytes.min ?? 0) / GiB));

  // The options this dialog shows a field for: an error about any other goes in the alert.
  const shown = new Set([
    "name",
    "cpus",
    "memoryMiB",
    "forwards",
    "user",
    "password",
    ...(image ? ["pull", "kargs"] : ["disk"]),
    ...(image && !libvirt ? ["cloudInit"] : []),
    ...(image && mode === "disk" ? ["diskSizeBytes"] : []),
    ...(sharesOk ? ["binds"] : []),
  ]);
  const issues: FieldIssue[] = fieldIssues(failure);
  const error = (path: string, exact = false) => issues.find((i) => i.path === path || (!exact && i.path.startsWith(`${path}.`)))?.message;
  const elsewhere = issues.filter((i) => !shown.has(i.path.split(".")[0]!));
  const alert =
    failure === undefined
      ? undefined
      : !issues.length
        ? errorText(failure)
        : elsewhere.map((i) => `${i.path}: ${i.message}`).join("; ") || "Check the fields marked below.";

  // An ephemeral boot of another podman's image: its root is exported first, as a job whose bar shows here.
  const [exporting, setExporting] = useState<{ id: string; title: string }>();
  const submit = async () => {
    setBusy(true);
    setFailure(undefined);
    if (image && podman && mode === "ephemeral") {
      try {
        setExporting(await trpc.images.exportRoot.mutate({ ref: image, podman }));
      } catch (e) {
        setFailure(e);
        setBusy(false);
      }
      return;
    }
    await boot();
  };
  const bootRef = useRef<() => Promise<void>>(undefined);
  const exported = useCallback((ok: boolean) => {
    if (ok) void bootRef.current?.();
    else setBusy(false);
  }, []);

  const boot = async () => {
    try {
      const forwards = c.forwards.filter((f) => f.host || f.guest).map((f) => ({ host: Number(f.host), guest: Number(f.guest) }));
      const vm = await trpc.vms.run.mutate({
        ...(image ? { image, pull: podman ? "never" : c.pull, mode, kargs: c.kargs.split(/\s+/).filter(Boolean) } : { disk: c.diskFile.trim() }),
        ...(image && podman ? { podman } : {}),
        ...(image && mode === "disk" ? { diskSizeBytes: c.diskSizeGiB * GiB } : {}),
        connect: image && libvirt ? c.host : "",
        ...(libvirt ? { autostart: c.autostart } : {}),
        name: c.name.trim() || undefined,
        cpus: c.cpus,
        memoryMiB: c.memoryMiB,
        forwards,
        binds: !sharesOk ? [] : c.shares.filter((s) => s.host || s.guest).map((s) => ({ host: s.host.trim(), guest: s.guest.trim(), readOnly: s.readOnly })),
        ...firstBootInput(image && !libvirt ? c : { ...c, cloudInitDir: "" }),
        removeOnStop: c.removeOnStop,
        allowHostLoopback: c.allowHostLoopback,
      });
      saveChoices(choicesKey, c);
      onBooted(vm.name);
    } catch (e) {
      setFailure(e);
      setBusy(false);
    }
  };
  bootRef.current = boot;

  const numberField = (key: "cpus" | "memoryMiB", label: string, step: number) => {
    const { min, max } = facts[key];
    const clamp = (n: number) => Math.min(max ?? n, Math.max(min ?? n, n));
    return (
      <FormGroup label={label} fieldId={`vm-${key}`}>
        <NumberInput
          id={`vm-${key}`}
          inputName={label}
          inputAriaLabel={label}
          value={c[key]}
          min={min}
          max={max}
          validated={error(key) ? "error" : "default"}
          inputProps={{ "aria-describedby": `vm-${key}-help` }}
          onMinus={() => set(key, clamp(c[key] - step))}
          onPlus={() => set(key, clamp(c[key] + step))}
          onChange={(e) => set(key, Number((e.target as HTMLInputElement).value) || 0)}
        />
        <FieldHelp id={`vm-${key}-help`} hint={facts[key].help} error={error(key)} />
      </FormGroup>
    );
  };

  return (
    <>
      <ModalBody>
        {alert && (
          <Alert variant="danger" isInline title="Cannot boot" role="alert" style={{ marginBottom: 16 }}>
            {alert}
          </Alert>
        )}
        {exporting && <JobProgress key={exporting.id} id={exporting.id} title={exporting.title} onDone={exported} />}
        <Form
          id="boot-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <FormGroup label="Name" fieldId="vm-name">
            <TextInput
              id="vm-name"
              value={c.name}
              onChange={(_e, v) => set("name", v)}
              placeholder="generated if empty"
              validated={error("name") ? "error" : "default"}
              aria-describedby="vm-name-help"
            />
            <FieldHelp id="vm-name-help" hint={facts.name.help} error={error("name")} />
          </FormGroup>
          {!image && (
            <FormGroup label="Disk file" fieldId="vm-disk-file" isRequired>
              <TextInput
                id="vm-disk-file"
                isRequired
                value={c.diskFile}
                onChange={(_e, v) => set("diskFile", v)}
                placeholder="/path/to/disk.qcow2"
                validated={error("disk") ? "error" : "default"}
                aria-describedby="vm-disk-file-help"
              />
              <FieldHelp id="vm-disk-file-help" hint={`${facts.disk.help}. An absolute path on the host running bootc serve.`} error={error("disk")} />
            </FormGroup>
          )}
          {image && !podman && hosts && hosts.hosts.length > 0 && (
            <FormGroup label="Host" fieldId="vm-host">
              <FormSelect id="vm-host" value={c.host} onChange={(_e, v) => set("host", v)}>
                <FormSelectOption value="" label="This machine (bootc's own runtime)" />
                {hosts.hosts.map((h) => (
                  <FormSelectOption key={h.name} value={h.name} label={`${h.name} — libvirt${h.local ? "" : ` on ${h.label}`}`} />
                ))}
              </FormSelect>
              <FormHelperText>
                <HelperText>
                  <HelperTextItem>
                    {libvirt
                      ? "A persistent libvirt domain (disk mode): virsh sees it, and it outlives bootc. Its disk is made here and uploaded once per image."
                      : "Saved libvirt hosts are managed on the Hosts page."}
                  </HelperTextItem>
                </HelperText>
              </FormHelperText>
            </FormGroup>
          )}
          {image && libvirt && (
            <Checkbox id="vm-autostart" label="Start with the host (libvirt autostart)" isChecked={c.autostart} onChange={(_e, v) => set("autostart", v)} />
          )}
          {image && !libvirt && (
            <FormGroup label="Mode" fieldId="vm-mode" role="radiogroup" isInline>
              <Radio
                id="vm-mode-ephemeral"
                name="vm-mode"
                label="Ephemeral"
                description="Boots in seconds; nothing the guest writes is kept."
                isChecked={c.mode === "ephemeral"}
                onChange={() => set("mode", "ephemeral")}
              />
              <Radio
                id="vm-mode-disk"
                name="vm-mode"
                label="Persistent disk"
                description="A disk made once per image (cached); stop and start keep what the guest wrote."
                isChecked={c.mode === "disk"}
                onChange={() => set("mode", "disk")}
              />
            </FormGroup>
          )}
          {image && mode === "disk" && (
            <FormGroup label="Disk size (GiB)" fieldId="vm-disk-size">
              <NumberInput
                id="vm-disk-size"
                inputName="Disk size (GiB)"
                inputAriaLabel="Disk size (GiB)"
                value={c.diskSizeGiB}
                min={diskMin}
                max={Math.floor((facts.diskSizeBytes.max ?? Infinity) / GiB)}
                validated={error("diskSizeBytes") ? "error" : "default"}
                inputProps={{ "aria-describedby": "vm-disk-size-help" }}
                onMinus={() => set("diskSizeGiB", Math.max(diskMin, c.diskSizeGiB - 1))}
                onPlus={() => set("diskSizeGiB", c.diskSizeGiB + 1)}
                onChange={(e) => set("diskSizeGiB", Number((e.target as HTMLInputElement).value) || 0)}
              />
              <FieldHelp id="vm-disk-size-help" hint={facts.diskSizeBytes.help} error={error("diskSizeBytes")} />
            </FormGroup>
          )}
          <Grid hasGutter>
            <GridItem span={6}>{numberField("cpus", "vCPUs", 1)}</GridItem>
            <GridItem span={6}>{numberField("memoryMiB", "Memory (MiB)", 512)}</GridItem>
          </Grid>
          {sharesOk && <ShareRows shares={c.shares} set={(v) => set("shares", v)} facts={facts} error={error} />}
          <ForwardRows forwards={c.forwards} set={(v) => set("forwards", v)} facts={facts} error={error} />
          <FirstBootFields c={c} set={(k, v) => setC((old) => ({ ...old, [k]: v }))} withImage={!!image && !libvirt} facts={facts} error={error} />
          {image && (
            <Grid hasGutter>
              <GridItem span={6}>
                <FormGroup label="Kernel arguments" fieldId="vm-kargs">
                  <TextInput
                    id="vm-kargs"
                    value={c.kargs}
                    onChange={(_e, v) => set("kargs", v)}
                    placeholder="e.g. systemd.log_level=debug"
                    validated={error("kargs") ? "error" : "default"}
                    aria-describedby="vm-kargs-help"
                  />
                  <FieldHelp id="vm-kargs-help" hint={facts.kargs.help} error={error("kargs")} />
                </FormGroup>
              </GridItem>
              <GridItem span={6} hidden={!!podman}>
                <FormGroup label="Pull the image" fieldId="vm-pull">
                  <FormSelect id="vm-pull" value={c.pull} onChange={(_e, v) => set("pull", v as Choices["pull"])} aria-describedby="vm-pull-help">
                    {facts.pull.values?.map((p) => (
                      <FormSelectOption key={p} value={p} label={PULL_LABELS[p] ?? p} />
                    ))}
                  </FormSelect>
                  <FieldHelp id="vm-pull-help" hint={facts.pull.help} error={error("pull")} />
                </FormGroup>
              </GridItem>
            </Grid>
          )}
          <Checkbox
            id="vm-host-loopback"
            label="Let the guest reach this host's loopback (127.0.0.1)"
            isChecked={c.allowHostLoopback}
            onChange={(_e, v) => set("allowHostLoopback", v)}
            description="The guest can then talk to this console and every other service that listens only on the host's 127.0.0.1. Needed for cloud-init over HTTP."
          />
          <Checkbox id="vm-rm" label="Remove the VM when it stops" isChecked={c.removeOnStop} onChange={(_e, v) => set("removeOnStop", v)} />
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="boot-form" isLoading={busy} isDisabled={busy}>
          Boot
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </>
  );
}
