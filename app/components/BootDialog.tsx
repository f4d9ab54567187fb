"use client";
import {
  Alert, Button, Checkbox, Form, FormGroup, FormHelperText, FormSelect, FormSelectOption, Grid, GridItem, HelperText, HelperTextItem, Modal, ModalBody, ModalFooter, ModalHeader, NumberInput, Radio, TextInput,
} from "@patternfly/react-core";
import { useEffect, useState } from "react";
import { errorText, trpc } from "../lib/trpc";
import { FIRST_BOOT_DEFAULTS, FirstBootFields, firstBootInput, type FirstBootChoices } from "./FirstBootFields";

interface Choices extends FirstBootChoices {
  name: string;
  pull: "missing" | "always" | "never";
  cpus: number;
  memoryMiB: number;
  forwards: Array<{ host: string; guest: string }>;
  shares: Array<{ host: string; guest: string; readOnly: boolean }>;
  kargs: string;
  removeOnStop: boolean;
  mode: "ephemeral" | "disk";
  diskSizeGiB: number;
  /** A premade disk file on the server's host (the dialog without an image). */
  diskFile: string;
  /** Where the VM runs: "" for bootc's own runtime, else a saved libvirt host's name. */
  host: string;
  autostart: boolean;
}

type Hosts = Awaited<ReturnType<typeof trpc.host.hosts.query>>;

const DEFAULTS: Choices = { ...FIRST_BOOT_DEFAULTS, name: "", pull: "missing", cpus: 2, memoryMiB: 2048, forwards: [], shares: [], kargs: "", removeOnStop: false, mode: "ephemeral", diskSizeGiB: 10, diskFile: "", host: "", autostart: false };
const PREMADE = "premade disk";
const storageKey = (image: string) => `bootc-boot-choices:${image}`;

function loadChoices(image: string): Choices {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(image)) ?? "null") as Partial<Choices> | null;
    return { ...DEFAULTS, ...(saved ?? {}), name: "", password: "" }; // a name is per VM; a password is never stored
  } catch {
    return DEFAULTS;
  }
}

/**
 * Boot an image as a VM (ephemeral or disk mode), or without an image a premade disk file
 * (`bootc run --disk`): the options of `bootc run`, remembered per image.
 */
export function BootDialog({ image, onClose, onBooted }: { image?: string; onClose: () => void; onBooted: (name: string) => void }) {
  const choicesKey = image ?? PREMADE;
  const [c, setC] = useState<Choices>(() => loadChoices(choicesKey));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Choices>(k: K, v: Choices[K]) => setC((old) => ({ ...old, [k]: v }));
  const [hosts, setHosts] = useState<Hosts>();
  useEffect(() => {
    void trpc.host.hosts.query().then((h) => {
      setHosts(h);
      // A remembered host that was since forgotten falls back to the server's default.
      const remembered = localStorage.getItem(storageKey(choicesKey)) !== null;
      setC((old) => ((!remembered || old.host) && !h.hosts.some((x) => x.name === old.host) ? { ...old, host: h.default } : old));
    }, () => setHosts({ hosts: [], default: "" }));
  }, [choicesKey]);
  // A libvirt VM is a disk-mode VM of an image; shared folders only on this machine's libvirt.
  const libvirt = !!c.host;
  const sharesOk = !libvirt || !!hosts?.hosts.find((h) => h.name === c.host)?.local;
  const mode = libvirt ? "disk" : c.mode;

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const forwards = c.forwards.filter((f) => f.host || f.guest).map((f) => ({ host: Number(f.host), guest: Number(f.guest) }));
      const vm = await trpc.vms.run.mutate({
        ...(image ? { image, pull: c.pull, mode, kargs: c.kargs.split(/\s+/).filter(Boolean) } : { disk: c.diskFile.trim() }),
        ...(image && mode === "disk" ? { diskSizeBytes: c.diskSizeGiB * 1024 ** 3 } : {}),
        connect: image ? c.host : "",
        ...(libvirt ? { autostart: c.autostart } : {}),
        name: c.name.trim() || undefined,
        cpus: c.cpus,
        memoryMiB: c.memoryMiB,
        forwards,
        binds: !sharesOk ? [] : c.shares.filter((s) => s.host || s.guest).map((s) => ({ host: s.host.trim(), guest: s.guest.trim(), readOnly: s.readOnly })),
        ...firstBootInput(image && !libvirt ? c : { ...c, cloudInitDir: "" }),
        removeOnStop: c.removeOnStop,
      });
      localStorage.setItem(storageKey(choicesKey), JSON.stringify({ ...c, name: "", password: "" }));
      onBooted(vm.name);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby="boot-title">
      {image
        ? <ModalHeader title={`Boot ${image}`} labelId="boot-title" description="Nothing is ever written to the image: an ephemeral VM boots its root filesystem directly; a disk VM writes to its own disk." />
        : <ModalHeader title="Boot a disk file" labelId="boot-title" description="A .qcow2 or .raw disk you already have, booted with UEFI. The VM writes to an overlay of its own: your file is never written." />}
      <ModalBody>
        {error && <Alert variant="danger" isInline title="Cannot boot" role="alert" style={{ marginBottom: 16 }}>{error}</Alert>}
        <Form id="boot-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
          <FormGroup label="Name" fieldId="vm-name">
            <TextInput id="vm-name" value={c.name} onChange={(_e, v) => set("name", v)} placeholder="generated if empty" />
            <FormHelperText><HelperText><HelperTextItem>a–z, 0–9, “-”, “_”, “.”; up to 40 characters</HelperTextItem></HelperText></FormHelperText>
          </FormGroup>
          {!image && (
            <FormGroup label="Disk file" fieldId="vm-disk-file" isRequired>
              <TextInput id="vm-disk-file" isRequired value={c.diskFile} onChange={(_e, v) => set("diskFile", v)} placeholder="/path/to/disk.qcow2" />
              <FormHelperText><HelperText><HelperTextItem>An absolute path on the host running bootc serve.</HelperTextItem></HelperText></FormHelperText>
            </FormGroup>
          )}
          {image && hosts && hosts.hosts.length > 0 && (
            <FormGroup label="Host" fieldId="vm-host">
              <FormSelect id="vm-host" value={c.host} onChange={(_e, v) => set("host", v)}>
                <FormSelectOption value="" label="This machine (bootc's own runtime)" />
                {hosts.hosts.map((h) => <FormSelectOption key={h.name} value={h.name} label={`${h.name} — libvirt${h.local ? "" : ` on ${h.label}`}`} />)}
              </FormSelect>
              <FormHelperText><HelperText><HelperTextItem>
                {libvirt ? "A persistent libvirt domain (disk mode): virsh sees it, and it outlives bootc. Its disk is made here and uploaded once per image." : "Saved libvirt hosts are managed on the Hosts page."}
              </HelperTextItem></HelperText></FormHelperText>
            </FormGroup>
          )}
          {image && libvirt && <Checkbox id="vm-autostart" label="Start with the host (libvirt autostart)" isChecked={c.autostart} onChange={(_e, v) => set("autostart", v)} />}
          {image && !libvirt && <FormGroup label="Mode" fieldId="vm-mode" role="radiogroup" isInline>
            <Radio id="vm-mode-ephemeral" name="vm-mode" label="Ephemeral" description="Boots in seconds; nothing the guest writes is kept."
              isChecked={c.mode === "ephemeral"} onChange={() => set("mode", "ephemeral")} />
            <Radio id="vm-mode-disk" name="vm-mode" label="Persistent disk" description="A disk made once per image (cached); stop and start keep what the guest wrote."
              isChecked={c.mode === "disk"} onChange={() => set("mode", "disk")} />
          </FormGroup>}
          {image && mode === "disk" && (
            <FormGroup label="Disk size (GiB)" fieldId="vm-disk-size">
              <NumberInput id="vm-disk-size" inputName="Disk size (GiB)" inputAriaLabel="Disk size (GiB)" value={c.diskSizeGiB} min={1}
                onMinus={() => set("diskSizeGiB", Math.max(1, c.diskSizeGiB - 1))} onPlus={() => set("diskSizeGiB", c.diskSizeGiB + 1)}
                onChange={(e) => set("diskSizeGiB", Number((e.target as HTMLInputElement).value) || 0)} />
            </FormGroup>
          )}
          <Grid hasGutter>
            <GridItem span={6}>
              <FormGroup label="vCPUs" fieldId="vm-cpus">
                <NumberInput id="vm-cpus" inputName="vCPUs" inputAriaLabel="vCPUs" value={c.cpus} min={1} max={64}
                  onMinus={() => set("cpus", Math.max(1, c.cpus - 1))} onPlus={() => set("cpus", c.cpus + 1)}
                  onChange={(e) => set("cpus", Number((e.target as HTMLInputElement).value) || 1)} />
              </FormGroup>
            </GridItem>
            <GridItem span={6}>
              <FormGroup label="Memory (MiB)" fieldId="vm-memory">
                <NumberInput id="vm-memory" inputName="Memory (MiB)" inputAriaLabel="Memory (MiB)" value={c.memoryMiB} min={256}
                  onMinus={() => set("memoryMiB", Math.max(256, c.memoryMiB - 512))} onPlus={() => set("memoryMiB", c.memoryMiB + 512)}
                  onChange={(e) => set("memoryMiB", Number((e.target as HTMLInputElement).value) || 0)} />
              </FormGroup>
            </GridItem>
          </Grid>
          {sharesOk && <FormGroup label="Shared folders" fieldId="vm-shares" role="group">
            {c.shares.map((s, i) => (
              <Grid hasGutter key={i} style={{ marginBottom: 8 }}>
                <GridItem span={5}>
                  <TextInput aria-label={`Host folder ${i + 1}`} placeholder="/path/on/host" value={s.host}
                    onChange={(_e, v) => set("shares", c.shares.map((x, j) => (j === i ? { ...x, host: v } : x)))} />
                </GridItem>
                <GridItem span={4}>
                  <TextInput aria-label={`Guest folder ${i + 1}`} placeholder="/mnt/in/guest" value={s.guest}
                    onChange={(_e, v) => set("shares", c.shares.map((x, j) => (j === i ? { ...x, guest: v } : x)))} />
                </GridItem>
                <GridItem span={2}>
                  <Checkbox id={`share-ro-${i}`} label="Read-only" isChecked={s.readOnly}
                    onChange={(_e, v) => set("shares", c.shares.map((x, j) => (j === i ? { ...x, readOnly: v } : x)))} />
                </GridItem>
                <GridItem span={1}>
                  <Button variant="plain" aria-label={`Remove shared folder ${i + 1}`} onClick={() => set("shares", c.shares.filter((_, j) => j !== i))}>✕</Button>
                </GridItem>
              </Grid>
            ))}
            <Button variant="link" isInline onClick={() => set("shares", [...c.shares, { host: "", guest: "", readOnly: false }])}>Add shared folder</Button>
          </FormGroup>}
          <FormGroup label="Port forwards" fieldId="vm-ports" role="group">
            {c.forwards.map((f, i) => (
              <Grid hasGutter key={i} style={{ marginBottom: 8 }}>
                <GridItem span={5}>
                  <TextInput aria-label={`Host port ${i + 1}`} placeholder="host port" value={f.host}
                    onChange={(_e, v) => set("forwards", c.forwards.map((x, j) => (j === i ? { ...x, host: v } : x)))} />
                </GridItem>
                <GridItem span={5}>
                  <TextInput aria-label={`Guest port ${i + 1}`} placeholder="guest port" value={f.guest}
                    onChange={(_e, v) => set("forwards", c.forwards.map((x, j) => (j === i ? { ...x, guest: v } : x)))} />
                </GridItem>
                <GridItem span={2}>
                  <Button variant="plain" aria-label={`Remove port forward ${i + 1}`} onClick={() => set("forwards", c.forwards.filter((_, j) => j !== i))}>✕</Button>
                </GridItem>
              </Grid>
            ))}
            <Button variant="link" isInline onClick={() => set("forwards", [...c.forwards, { host: "", guest: "" }])}>Add port forward</Button>
          </FormGroup>
          <FirstBootFields c={c} set={(k, v) => setC((old) => ({ ...old, [k]: v }))} withImage={!!image && !libvirt} />
          {image && (
            <Grid hasGutter>
              <GridItem span={6}>
                <FormGroup label="Kernel arguments" fieldId="vm-kargs">
                  <TextInput id="vm-kargs" value={c.kargs} onChange={(_e, v) => set("kargs", v)} placeholder="e.g. systemd.log_level=debug" />
                </FormGroup>
              </GridItem>
              <GridItem span={6}>
                <FormGroup label="Pull the image" fieldId="vm-pull">
                  <FormSelect id="vm-pull" value={c.pull} onChange={(_e, v) => set("pull", v as Choices["pull"])}>
                    <FormSelectOption value="missing" label="If it is not local" />
                    <FormSelectOption value="always" label="Always, before booting" />
                    <FormSelectOption value="never" label="Never" />
                  </FormSelect>
                </FormGroup>
              </GridItem>
            </Grid>
          )}
          <Checkbox id="vm-rm" label="Remove the VM when it stops" isChecked={c.removeOnStop} onChange={(_e, v) => set("removeOnStop", v)} />
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="boot-form" isLoading={busy} isDisabled={busy}>Boot</Button>
        <Button variant="link" onClick={onClose}>Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
