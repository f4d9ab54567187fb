"use client";
import { FormHelperText, HelperText, HelperTextItem } from "@patternfly/react-core";
import { sentence } from "../lib/run-options";

/**
 * Under a form field: the server's error for it when the last try failed, else its hint
 * (the option's help text, most often).
 * `id` is what the field names in aria-describedby, so either is read with the field.
 */
export function FieldHelp({ id, hint, error }: { id: string; hint?: string; error?: string }) {
  if (!hint && !error) return null;
  return (
    <FormHelperText>
      <HelperText id={id}>
        {error ? <HelperTextItem variant="error">{sentence(error)}</HelperTextItem> : <HelperTextItem>{sentence(hint!)}</HelperTextItem>}
      </HelperText>
    </FormHelperText>
  );
}
