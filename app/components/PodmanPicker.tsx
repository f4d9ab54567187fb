"use client";
import { Alert, Button, Flex, FlexItem, FormSelect, FormSelectOption, TextInput } from "@patternfly/react-core";
import { useCallback, useEffect, useState } from "react";
import { errorText, trpc } from "../lib/trpc";

type Podmans = Awaited<ReturnType<typeof trpc.images.podmans.query>>;
export type PodmanConnection = Podmans["saved"][number]["podman"];
/** The podman the page shows: the server's own (no connection), or a saved one. */
export interface PodmanChoice {
  name: string;
  podman?: PodmanConnection;
  label: string;
}

const KEY = "bootc.images.podman";

/** "ssh://…" (or unix://, tcp://) is a URL, with the key if given; anything else is one of podman's named connections. */
function parseWhere(where: string, key: string): PodmanConnection {
  if (/^(ssh|unix|tcp):\/\//.test(where)) return { url: where, ...(key ? { identity: key } : {}) };
  return { connection: where };
}

/**
 * Which podman the Images page shows, and switching: the server's own, or one saved on this
 * server by name (images.podmans), as the Hosts page saves libvirt hosts. The choice is
 * remembered in this browser.
 */
export function PodmanPicker({ onChange }: { onChange: (c: PodmanChoice) => void }) {
  const [podmans, setPodmans] = useState<Podmans>();
  const [chosen, setChosen] = useState<string>(() => (typeof localStorage === "undefined" ? "" : (localStorage.getItem(KEY) ?? "")));
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState({ name: "", where: "", key: "" });
  const [error, setError] = useState<string>();
  const load = useCallback(() => trpc.images.podmans.query().then(setPodmans, (e: unknown) => setError(errorText(e))), []);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    if (!podmans) return;
    const saved = podmans.saved.find((p) => p.name === chosen);
    // A remembered podman that was since forgotten: back to the server's own.
    onChange(saved ? { name: saved.name, podman: saved.podman, label: saved.label } : { name: "", label: podmans.server });
  }, [podmans, chosen, onChange]);

  const choose = (name: string) => {
    setChosen(name);
    localStorage.setItem(KEY, name);
  };
  const save = async () => {
    setError(undefined);
    try {
      const saved = await trpc.images.savePodman.mutate({ name: form.name.trim(), podman: parseWhere(form.where.trim(), form.key.trim()) });
      setAdding(false);
      setForm({ name: "", where: "", key: "" });
      await load();
      choose(saved.name);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const forget = async () => {
    try {
      await trpc.images.forgetPodman.mutate({ name: chosen });
      choose("");
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div style={{ marginBottom: 16 }}>
      <Flex alignItems={{ default: "alignItemsCenter" }}>
        <FlexItem>
          <label htmlFor="images-podman">Podman</label>
        </FlexItem>
        <FlexItem>
          <FormSelect id="images-podman" value={chosen} onChange={(_e, v) => choose(v)} style={{ minWidth: 320 }}>
            <FormSelectOption value="" label={`This server's (${podmans?.server ?? "…"})`} />
            {podmans?.saved.map((p) => (
              <FormSelectOption key={p.name} value={p.name} label={`${p.name} (${p.label})`} />
            ))}
          </FormSelect>
        </FlexItem>
        {chosen && (
          <FlexItem>
            <Button variant="link" isDanger onClick={() => void forget()}>
              Forget {chosen}
            </Button>
          </FlexItem>
        )}
        <FlexItem>
          <Button variant="secondary" onClick={() => setAdding((a) => !a)}>
            Add a podman…
          </Button>
        </FlexItem>
      </Flex>
      {adding && (
        <Flex alignItems={{ default: "alignItemsCenter" }} style={{ marginTop: 8 }}>
          <FlexItem>
            <TextInput aria-label="Podman name" placeholder="name, e.g. machine" value={form.name} onChange={(_e, v) => setForm({ ...form, name: v })} />
          </FlexItem>
          <FlexItem>
            <TextInput
              aria-label="Podman URL or connection"
              placeholder="ssh://user@host:22/run/user/1000/podman/podman.sock, or a podman connection name"
              value={form.where}
              onChange={(_e, v) => setForm({ ...form, where: v })}
              style={{ minWidth: 420 }}
            />
          </FlexItem>
          <FlexItem>
            <TextInput
              aria-label="SSH key"
              placeholder="SSH key on the server (absolute path)"
              value={form.key}
              onChange={(_e, v) => setForm({ ...form, key: v })}
            />
          </FlexItem>
          <FlexItem>
            <Button variant="primary" isDisabled={!form.name.trim() || !form.where.trim()} onClick={() => void save()}>
              Save
            </Button>
          </FlexItem>
        </Flex>
      )}
      {error && <Alert variant="danger" isInline title={error} role="alert" style={{ marginTop: 8 }} />}
    </div>
  );
}
