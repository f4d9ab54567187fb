"use client";
import { Checkbox, FormGroup, Grid, GridItem, Radio, TextInput } from "@patternfly/react-core";
import type { Choices } from "../lib/boot-choices";
import { sentence, type RunOptionFacts } from "../lib/run-options";
import { FieldHelp } from "./FieldHelp";

type FirstBootChoices = Pick<Choices, "user" | "sshKey" | "password" | "autologin" | "cloudInitDir" | "cloudInitTransport">;

/** The vms.run fields for these choices; what is left empty is left out (the schema's default). */
export function firstBootInput(c: FirstBootChoices) {
  return {
    ...(c.user.trim() ? { user: c.user.trim() } : {}),
    injectUserKey: c.sshKey === "inject",
    ...(c.password ? { password: c.password } : {}),
    autologin: c.autologin,
    ...(c.cloudInitDir.trim() ? { cloudInit: { transport: c.cloudInitTransport, dir: c.cloudInitDir.trim() } } : {}),
  };
}

/** How the guest is set up at first boot: who logs in and how, and cloud-init. */
export function FirstBootFields({
  c,
  set,
  withImage,
  facts,
  error,
}: {
  c: FirstBootChoices;
  set: <K extends keyof FirstBootChoices>(k: K, v: FirstBootChoices[K]) => void;
  withImage: boolean;
  facts: RunOptionFacts;
  /** The server's error for an input path (and the fields under it). */
  error: (path: string) => string | undefined;
}) {
  return (
    <>
      <Grid hasGutter>
        <GridItem span={6}>
          <FormGroup label="User" fieldId="vm-user">
            <TextInput
              id="vm-user"
              value={c.user}
              onChange={(_e, v) => set("user", v)}
              validated={error("user") ? "error" : "default"}
              aria-describedby="vm-user-help"
            />
            <FieldHelp id="vm-user-help" hint={facts.user.help} error={error("user")} />
          </FormGroup>
        </GridItem>
        <GridItem span={6}>
          <FormGroup label="SSH key" fieldId="vm-ssh-key" role="radiogroup">
            <Radio
              id="vm-key-generate"
              name="vm-ssh-key"
              label="Generate a key for this VM"
              isChecked={c.sshKey === "generate"}
              onChange={() => set("sshKey", "generate")}
            />
            <Radio
              id="vm-key-inject"
              name="vm-ssh-key"
              label="Inject my own key"
              description={sentence(facts.injectUserKey.help)}
              isChecked={c.sshKey === "inject"}
              onChange={() => set("sshKey", "inject")}
            />
          </FormGroup>
        </GridItem>
      </Grid>
      <Grid hasGutter>
        <GridItem span={6}>
          <FormGroup label="Console password" fieldId="vm-password">
            <TextInput
              id="vm-password"
              type="password"
              autoComplete="new-password"
              value={c.password}
              onChange={(_e, v) => set("password", v)}
              placeholder="none"
              validated={error("password") ? "error" : "default"}
              aria-describedby="vm-password-help"
            />
            <FieldHelp id="vm-password-help" hint={facts.password.help} error={error("password")} />
          </FormGroup>
        </GridItem>
        <GridItem span={6}>
          <Checkbox id="vm-autologin" label="Log in automatically on the serial console" isChecked={c.autologin} onChange={(_e, v) => set("autologin", v)} />
        </GridItem>
      </Grid>
      {withImage && (
        <FormGroup label="cloud-init directory" fieldId="vm-cloudinit">
          <TextInput
            id="vm-cloudinit"
            value={c.cloudInitDir}
            onChange={(_e, v) => set("cloudInitDir", v)}
            placeholder="/path/with/user-data (optional)"
            validated={error("cloudInit") ? "error" : "default"}
            aria-describedby="vm-cloudinit-help"
          />
          <Radio
            id="vm-cloudinit-cdrom"
            name="vm-cloudinit-transport"
            label="As a seed ISO (cidata)"
            isChecked={c.cloudInitTransport === "cdrom"}
            onChange={() => set("cloudInitTransport", "cdrom")}
          />
          <Radio
            id="vm-cloudinit-imds"
            name="vm-cloudinit-transport"
            label="Over HTTP from the host (NoCloud IMDS)"
            isChecked={c.cloudInitTransport === "imds"}
            onChange={() => set("cloudInitTransport", "imds")}
          />
          <FieldHelp id="vm-cloudinit-help" hint={facts.cloudInit.help} error={error("cloudInit")} />
        </FormGroup>
      )}
    </>
  );
}
