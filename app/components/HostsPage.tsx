"use client";
import {
  Alert,
  Button,
  Content,
  Form,
  FormGroup,
  FormHelperText,
  Grid,
  GridItem,
  HelperText,
  HelperTextItem,
  PageSection,
  TextInput,
  Title,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { useCallback, useEffect, useState } from "react";
import { errorText, trpc } from "../lib/trpc";

type Hosts = Awaited<ReturnType<typeof trpc.host.hosts.query>>;

/** Saved libvirt connections (bootc hosts): where the boot dialog can put a VM besides this machine. */
export function HostsPage() {
  const [hosts, setHosts] = useState<Hosts>();
  const [error, setError] = useState<string>();
  const [form, setForm] = useState({ name: "", uri: "", pool: "" });
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => trpc.host.hosts.query().then(setHosts, (e: unknown) => setError(errorText(e))), []);
  useEffect(() => void load(), [load]);

  const add = async () => {
    setBusy(true);
    setFormError(undefined);
    try {
      await trpc.host.addHost.mutate({ name: form.name.trim(), uri: form.uri.trim(), ...(form.pool.trim() ? { pool: form.pool.trim() } : {}) });
      setForm({ name: "", uri: "", pool: "" });
      await load();
    } catch (e) {
      setFormError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const remove = (name: string) =>
    trpc.host.removeHost.mutate({ name }).then(
      () => load(),
      (e: unknown) => setError(errorText(e)),
    );

  return (
    <PageSection>
      <Title headingLevel="h1" style={{ marginBottom: 8 }}>
        Hosts
      </Title>
      <Content component="p" style={{ marginBottom: 16 }}>
        VMs run on this machine under bootc&apos;s own runtime, or as persistent libvirt domains — on this machine&apos;s libvirt (qemu:///system) or on another
        Linux host over SSH (qemu+ssh://USER@HOST/system). Saved hosts appear in the boot dialog.
      </Content>
      {error && <Alert variant="danger" isInline title={error} role="alert" style={{ marginBottom: 16 }} />}
      {hosts && hosts.hosts.length > 0 && (
        <Table aria-label="Hosts" variant="compact" style={{ marginBottom: 24 }}>
          <Thead>
            <Tr>
              <Th>Name</Th>
              <Th>Connection</Th>
              <Th>Storage pool</Th>
              <Th screenReaderText="Actions" />
            </Tr>
          </Thead>
          <Tbody>
            {hosts.hosts.map((h) => (
              <Tr key={h.name} aria-label={`Host ${h.name}`}>
                <Td dataLabel="Name">
                  {h.name}
                  {hosts.default === h.name ? " (default)" : ""}
                </Td>
                <Td dataLabel="Connection" className="bootc-mono">
                  {h.uri}
                </Td>
                <Td dataLabel="Storage pool">{h.pool}</Td>
                <Td isActionCell>
                  <Button variant="secondary" size="sm" aria-label={`Forget ${h.name}`} onClick={() => void remove(h.name)}>
                    Forget
                  </Button>
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
      <Title headingLevel="h2" style={{ marginBottom: 8 }}>
        Add a libvirt host
      </Title>
      <Form
        id="host-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
        style={{ maxWidth: 720 }}
      >
        {formError && (
          <Alert variant="danger" isInline title="Cannot save the host" role="alert">
            {formError}
          </Alert>
        )}
        <Grid hasGutter>
          <GridItem span={4}>
            <FormGroup label="Name" fieldId="host-name" isRequired>
              <TextInput id="host-name" isRequired value={form.name} onChange={(_e, v) => setForm({ ...form, name: v })} placeholder="big" />
            </FormGroup>
          </GridItem>
          <GridItem span={8}>
            <FormGroup label="Connection URI" fieldId="host-uri" isRequired>
              <TextInput
                id="host-uri"
                isRequired
                value={form.uri}
                onChange={(_e, v) => setForm({ ...form, uri: v })}
                placeholder="qemu+ssh://me@big.example/system"
              />
              <FormHelperText>
                <HelperText>
                  <HelperTextItem>SSH with your key (keyfile= and no_verify=1 work as in libvirt).</HelperTextItem>
                </HelperText>
              </FormHelperText>
            </FormGroup>
          </GridItem>
        </Grid>
        <FormGroup label="Storage pool" fieldId="host-pool">
          <TextInput id="host-pool" value={form.pool} onChange={(_e, v) => setForm({ ...form, pool: v })} placeholder="bootc (made on first use)" />
        </FormGroup>
        <div>
          <Button type="submit" isLoading={busy} isDisabled={busy}>
            Save host
          </Button>
        </div>
      </Form>
    </PageSection>
  );
}
