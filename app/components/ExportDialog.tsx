"use client";
import {
  Alert,
  Button,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextInput,
} from "@patternfly/react-core";
import { useState } from "react";
import { errorText, trpc } from "../lib/trpc";

/** `bootc to-disk` from the Disks page: starts an export job; its progress shows on the page. */
export function ExportDialog({
  image: initialImage,
  onClose,
  onStarted,
}: {
  image?: string;
  onClose: () => void;
  onStarted: (job: { id: string; title: string }) => void;
}) {
  const [image, setImage] = useState(initialImage ?? "");
  const [file, setFile] = useState("");
  const [format, setFormat] = useState<"qcow2" | "raw" | "vmdk">("qcow2");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onStarted(await trpc.disks.export.mutate({ image: image.trim(), file: file.trim(), format }));
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby="export-title">
      <ModalHeader
        title="Export a disk image"
        labelId="export-title"
        description="A bootable disk (UEFI) for libvirt, virt-manager or a cloud import, made from the image's base disk."
      />
      <ModalBody>
        {error && (
          <Alert variant="danger" isInline title="Cannot export" role="alert" style={{ marginBottom: 16 }}>
            {error}
          </Alert>
        )}
        <Form
          id="export-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <FormGroup label="Image" fieldId="export-image" isRequired>
            <TextInput id="export-image" isRequired value={image} onChange={(_e, v) => setImage(v)} placeholder="localhost/bootc-demo" />
          </FormGroup>
          <FormGroup label="File" fieldId="export-file" isRequired>
            <TextInput id="export-file" isRequired value={file} onChange={(_e, v) => setFile(v)} placeholder="/var/tmp/disk.qcow2" />
            <FormHelperText>
              <HelperText>
                <HelperTextItem>An absolute path on the host running bootc serve; it must not exist yet.</HelperTextItem>
              </HelperText>
            </FormHelperText>
          </FormGroup>
          <FormGroup label="Format" fieldId="export-format">
            <FormSelect id="export-format" value={format} onChange={(_e, v) => setFormat(v as typeof format)}>
              <FormSelectOption value="qcow2" label="qcow2 (libvirt, most tools)" />
              <FormSelectOption value="raw" label="raw" />
              <FormSelectOption value="vmdk" label="vmdk" />
            </FormSelect>
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="export-form" isLoading={busy} isDisabled={busy || !image.trim() || !file.trim()}>
          Export
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
