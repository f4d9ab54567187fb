"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import {
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadMain,
  Nav,
  NavItem,
  NavList,
  Page,
  Switch,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from "@patternfly/react-core";

export function Shell({ children }: { children: ReactNode }) {
  const path = usePathname();
  const [dark, setDark] = useState(false);
  useEffect(() => setDark(document.documentElement.classList.contains("pf-v6-theme-dark")), []);
  const toggle = (on: boolean) => {
    setDark(on);
    document.documentElement.classList.toggle("pf-v6-theme-dark", on);
    localStorage.setItem("bootc-theme", on ? "dark" : "light");
  };
  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadBrand>
          <Link href="/" style={{ fontWeight: 600, fontSize: "1.2rem", color: "inherit", textDecoration: "none" }}>
            bootc console
          </Link>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight>
          <ToolbarContent>
            <ToolbarItem>
              <Nav variant="horizontal" aria-label="Main">
                <NavList>
                  <NavItem isActive={path === "/"}>
                    <Link href="/">Images</Link>
                  </NavItem>
                  <NavItem isActive={path.startsWith("/vms")}>
                    <Link href="/vms">Virtual machines</Link>
                  </NavItem>
                  <NavItem isActive={path.startsWith("/disks")}>
                    <Link href="/disks">Disks</Link>
                  </NavItem>
                  <NavItem isActive={path.startsWith("/hosts")}>
                    <Link href="/hosts">Hosts</Link>
                  </NavItem>
                </NavList>
              </Nav>
            </ToolbarItem>
            <ToolbarItem align={{ default: "alignEnd" }}>
              <Switch id="theme" label="Dark theme" isChecked={dark} onChange={(_e, on) => toggle(on)} />
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
  return <Page masthead={masthead}>{children}</Page>;
}
