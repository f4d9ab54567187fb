"use client";
import { MenuToggle } from "@patternfly/react-core";
import { ActionsColumn, type IAction } from "@patternfly/react-table";
import EllipsisVIcon from "@patternfly/react-icons/dist/esm/icons/ellipsis-v-icon";

/** A kebab menu whose toggle has a name that says whose actions these are ("Actions for web"). */
export function RowActions({ label, items }: { label: string; items: IAction[] }) {
  return (
    <ActionsColumn
      items={items}
      actionsToggle={({ onToggle, isOpen, isDisabled, toggleRef }) => (
        <MenuToggle
          ref={toggleRef}
          aria-label={label}
          variant="plain"
          onClick={onToggle}
          isExpanded={isOpen}
          isDisabled={isDisabled}
          icon={<EllipsisVIcon />}
        />
      )}
    />
  );
}
