"use client";
import { Button, Modal, ModalBody, ModalFooter, ModalHeader } from "@patternfly/react-core";
import { useState, type ReactNode } from "react";

/** A destructive action asks first, naming what it acts on and what goes away. */
export function ConfirmDialog(props: {
  title: string;
  body: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <Modal isOpen variant="small" onClose={props.onClose} aria-labelledby="confirm-title">
      <ModalHeader title={props.title} labelId="confirm-title" titleIconVariant={props.danger ? "warning" : undefined} />
      <ModalBody>
        {props.body}
        {error && (
          <p role="alert" style={{ color: "var(--pf-t--global--text--color--status--danger--default)", marginTop: 8 }}>
            {error}
          </p>
        )}
      </ModalBody>
      <ModalFooter>
        <Button
          variant={props.danger ? "danger" : "primary"}
          isLoading={busy}
          isDisabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await props.onConfirm();
              props.onClose();
            } catch (e) {
              setError(e instanceof Error ? e.message : String(e));
              setBusy(false);
            }
          }}
        >
          {props.confirm}
        </Button>
        <Button variant="link" onClick={props.onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
