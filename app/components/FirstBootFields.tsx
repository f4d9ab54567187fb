"use client";
import { Checkbox, FormGroup, FormHelperText, Grid, GridItem, HelperText, HelperTextItem, Radio, TextInput } from "@patternfly/react-core";

/** How the guest is set up at first boot: who logs in and how, and cloud-init. */
export interface FirstBootChoices {
  user: string;
  sshKey: "generate" | "inject";
  /** Never remembered between dialogs. */
  password: string;
  autologin: boolean;
  cloudInitDir: string;
  cloudInitTransport: "cdrom" | "imds";
}

export const FIRST_BOOT_DEFAULTS: FirstBootChoices = { user: "root", sshKey: "generate", password: "", autologin: false, cloudInitDir: "", cloudInitTransport: "cdrom" };

/** The vms.run fields for these choices. */
export function firstBootInput(c: FirstBootChoices) {
  return {
    user: c.user.trim() || "root",
    injectUserKey: c.sshKey === "inject",
    ...(c.password ? { password: c.password } : {}),
    autologin: c.autologin,
    ...(c.cloudInitDir.trim() ? { cloudInit: { transport: c.cloudInitTransport, dir: c.cloudInitDir.trim() } } : {}),
  };
}

export function FirstBootFields({ c, set, withImage }: { c: FirstBootChoices; set: <K extends keyof FirstBootChoices>(k: K, v: FirstBootChoices[K]) => void; withImage: boolean }) {
  return (
    <>
      <Grid hasGutter>
        <GridItem span={6}>
          <FormGroup label="User" fieldId="vm-user">
            <TextInput id="vm-user" value={c.user} onChange={(_e, v) => set("user", v)} />
            <FormHelperText><HelperText><HelperTextItem>For SSH and the console; created with sudo rights if the image lacks it.</HelperTextItem></HelperText></FormHelperText>
          </FormGroup>
        </GridItem>
        <GridItem span={6}>
          <FormGroup label="SSH key" fieldId="vm-ssh-key" role="radiogroup">
            <Radio id="vm-key-generate" name="vm-ssh-key" label="Generate a key for this VM" isChecked={c.sshKey === "generate"} onChange={() => set("sshKey", "generate")} />
            <Radio id="vm-key-inject" name="vm-ssh-key" label="Inject my own key" description="~/.ssh/id_ed25519 (or id_rsa) of the user running bootc serve"
              isChecked={c.sshKey === "inject"} onChange={() => set("sshKey", "inject")} />
          </FormGroup>
        </GridItem>
      </Grid>
      <Grid hasGutter>
        <GridItem span={6}>
          <FormGroup label="Console password" fieldId="vm-password">
            <TextInput id="vm-password" type="password" autoComplete="new-password" value={c.password} onChange={(_e, v) => set("password", v)} placeholder="none" />
            <FormHelperText><HelperText><HelperTextItem>For the serial console when the image has no SSH; only its hash is kept.</HelperTextItem></HelperText></FormHelperText>
          </FormGroup>
        </GridItem>
        <GridItem span={6}>
          <Checkbox id="vm-autologin" label="Log in automatically on the serial console" isChecked={c.autologin} onChange={(_e, v) => set("autologin", v)} />
        </GridItem>
      </Grid>
      {withImage && (
        <FormGroup label="cloud-init directory" fieldId="vm-cloudinit">
          <TextInput id="vm-cloudinit" value={c.cloudInitDir} onChange={(_e, v) => set("cloudInitDir", v)} placeholder="/path/with/user-data (optional)" />
          <Radio id="vm-cloudinit-cdrom" name="vm-cloudinit-transport" label="As a seed ISO (cidata)" isChecked={c.cloudInitTransport === "cdrom"} onChange={() => set("cloudInitTransport", "cdrom")} />
          <Radio id="vm-cloudinit-imds" name="vm-cloudinit-transport" label="Over HTTP from the host (NoCloud IMDS)" isChecked={c.cloudInitTransport === "imds"} onChange={() => set("cloudInitTransport", "imds")} />
        </FormGroup>
      )}
    </>
  );
}
