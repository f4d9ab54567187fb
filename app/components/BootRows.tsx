"use client";
import { Button, Checkbox, FormGroup, Grid, GridItem, TextInput } from "@patternfly/react-core";
import type { Choices } from "../lib/boot-choices";
import { type RunOptionFacts } from "../lib/run-options";
import { FieldHelp } from "./FieldHelp";

/** The server's error for an input path and what is under it; `exact`: for that path alone. */
type Error = (path: string, exact?: boolean) => string | undefined;
const validated = (e: string | undefined) => (e ? "error" : "default");

/** Shared folders: one row each (host folder, guest folder, read-only); errors under their row. */
export function ShareRows({
  shares,
  set,
  facts,
  error,
}: {
  shares: Choices["shares"];
  set: (v: Choices["shares"]) => void;
  facts: RunOptionFacts;
  error: Error;
}) {
  const edit = (i: number, change: Partial<Choices["shares"][number]>) => set(shares.map((x, j) => (j === i ? { ...x, ...change } : x)));
  return (
    <FormGroup label="Shared folders" fieldId="vm-shares" role="group">
      {shares.map((s, i) => (
        <div key={i} style={{ marginBottom: 8 }}>
          <Grid hasGutter>
            <GridItem span={5}>
              <TextInput
                aria-label={`Host folder ${i + 1}`}
                placeholder="/path/on/host"
                value={s.host}
                onChange={(_e, v) => edit(i, { host: v })}
                validated={validated(error(`binds.${i}.host`))}
                aria-describedby={`vm-share-${i}-help`}
              />
            </GridItem>
            <GridItem span={4}>
              <TextInput
                aria-label={`Guest folder ${i + 1}`}
                placeholder="/mnt/in/guest"
                value={s.guest}
                onChange={(_e, v) => edit(i, { guest: v })}
                validated={validated(error(`binds.${i}.guest`))}
                aria-describedby={`vm-share-${i}-help`}
              />
            </GridItem>
            <GridItem span={2}>
              <Checkbox id={`share-ro-${i}`} label="Read-only" isChecked={s.readOnly} onChange={(_e, v) => edit(i, { readOnly: v })} />
            </GridItem>
            <GridItem span={1}>
              <Button variant="plain" aria-label={`Remove shared folder ${i + 1}`} onClick={() => set(shares.filter((_, j) => j !== i))}>
                ✕
              </Button>
            </GridItem>
          </Grid>
          <FieldHelp id={`vm-share-${i}-help`} error={error(`binds.${i}`)} />
        </div>
      ))}
      {shares.length < (facts.binds.maxItems ?? Infinity) && (
        <Button variant="link" isInline onClick={() => set([...shares, { host: "", guest: "", readOnly: false }])}>
          Add shared folder
        </Button>
      )}
      <FieldHelp id="vm-shares-help" hint={facts.binds.help} error={error("binds", true)} />
    </FormGroup>
  );
}

/** Port forwards: one row each (host port, guest port); errors under their row. */
export function ForwardRows({
  forwards,
  set,
  facts,
  error,
}: {
  forwards: Choices["forwards"];
  set: (v: Choices["forwards"]) => void;
  facts: RunOptionFacts;
  error: Error;
}) {
  const edit = (i: number, change: Partial<Choices["forwards"][number]>) => set(forwards.map((x, j) => (j === i ? { ...x, ...change } : x)));
  return (
    <FormGroup label="Port forwards" fieldId="vm-ports" role="group">
      {forwards.map((f, i) => (
        <div key={i} style={{ marginBottom: 8 }}>
          <Grid hasGutter>
            <GridItem span={5}>
              <TextInput
                aria-label={`Host port ${i + 1}`}
                placeholder="host port"
                value={f.host}
                onChange={(_e, v) => edit(i, { host: v })}
                validated={validated(error(`forwards.${i}.host`))}
                aria-describedby={`vm-port-${i}-help`}
              />
            </GridItem>
            <GridItem span={5}>
              <TextInput
                aria-label={`Guest port ${i + 1}`}
                placeholder="guest port"
                value={f.guest}
                onChange={(_e, v) => edit(i, { guest: v })}
                validated={validated(error(`forwards.${i}.guest`))}
                aria-describedby={`vm-port-${i}-help`}
              />
            </GridItem>
            <GridItem span={2}>
              <Button variant="plain" aria-label={`Remove port forward ${i + 1}`} onClick={() => set(forwards.filter((_, j) => j !== i))}>
                ✕
              </Button>
            </GridItem>
          </Grid>
          <FieldHelp id={`vm-port-${i}-help`} error={error(`forwards.${i}`)} />
        </div>
      ))}
      {forwards.length < (facts.forwards.maxItems ?? Infinity) && (
        <Button variant="link" isInline onClick={() => set([...forwards, { host: "", guest: "" }])}>
          Add port forward
        </Button>
      )}
      <FieldHelp id="vm-ports-help" hint={facts.forwards.help} error={error("forwards", true)} />
    </FormGroup>
  );
}
