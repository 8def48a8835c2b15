/**
 * The slice of the OVN Northbound database the driver reads, decoded from OVSDB notation into plain
 * rows, and the ownership marks it writes. Pure: observe.ts does the reading.
 */
import { decodeOptional, decodeStringMap, decodeStringSet, decodeUuid, decodeUuidSet, type Json } from "./datum.ts";

export const NB_DB = "OVN_Northbound";

/** On every row Outpost creates: only rows carrying it are ever changed or deleted. */
export const OWNED_KEY = "outpost-owned";
export const OWNED_VALUE = "true";
/**
 * On the switch port Outpost adds to attach one of its router ports to a switch (type "router"):
 * the router port's name. Such peers belong to their router port and are hidden from the diff.
 */
export const PEER_OF_KEY = "outpost-peer-of";

export const ownedMark: Readonly<Record<string, string>> = { [OWNED_KEY]: OWNED_VALUE };

interface Row { uuid: string; externalIds: Record<string, string> }
export interface SwitchRow extends Row { name: string; ports: string[]; acls: string[]; otherConfig: Record<string, string> }
export interface SwitchPortRow extends Row { name: string; type: string; addresses: string[]; portSecurity: string[]; options: Record<string, string> }
export interface RouterRow extends Row { name: string; ports: string[] }
export interface RouterPortRow extends Row { name: string; mac: string; networks: string[] }
export interface PortGroupRow extends Row { name: string; ports: string[]; acls: string[] }
export interface AclRow extends Row { direction: string; priority: number; match: string; action: string }
export interface DhcpRow extends Row { cidr: string; options: Record<string, string> }

export interface NbSnapshot {
  switches: SwitchRow[];
  switchPorts: SwitchPortRow[];
  routers: RouterRow[];
  routerPorts: RouterPortRow[];
  portGroups: PortGroupRow[];
  acls: AclRow[];
  dhcp: DhcpRow[];
}

export const isOwned = (r: { externalIds: Record<string, string> }): boolean => r.externalIds[OWNED_KEY] === OWNED_VALUE;
/** The router port an owned switch port is the peer of, if it is one. */
export const peerOf = (p: SwitchPortRow): string | undefined => (isOwned(p) ? p.externalIds[PEER_OF_KEY] : undefined);

type RawRow = Record<string, Json>;
const str = (r: RawRow, c: string): string => {
  const v = r[c];
  if (typeof v !== "string") throw new Error(`OVN NB: column ${c} is not a string: ${JSON.stringify(v)}`);
  return v;
};
const base = (r: RawRow): Row => ({ uuid: decodeUuid(r._uuid), externalIds: decodeStringMap(r.external_ids) });

/** Per table: the columns read (with _uuid: a select of some columns merges rows that look alike) and the decoder. */
export const NB_TABLES = {
  switches: { table: "Logical_Switch", columns: ["_uuid", "name", "ports", "acls", "other_config", "external_ids"],
    decode: (r: RawRow): SwitchRow => ({ ...base(r), name: str(r, "name"), ports: decodeUuidSet(r.ports), acls: decodeUuidSet(r.acls), otherConfig: decodeStringMap(r.other_config) }) },
  switchPorts: { table: "Logical_Switch_Port", columns: ["_uuid", "name", "type", "addresses", "port_security", "options", "external_ids"],
    decode: (r: RawRow): SwitchPortRow => ({ ...base(r), name: str(r, "name"), type: str(r, "type"), addresses: decodeStringSet(r.addresses), portSecurity: decodeStringSet(r.port_security), options: decodeStringMap(r.options) }) },
  routers: { table: "Logical_Router", columns: ["_uuid", "name", "ports", "external_ids"],
    decode: (r: RawRow): RouterRow => ({ ...base(r), name: str(r, "name"), ports: decodeUuidSet(r.ports) }) },
  routerPorts: { table: "Logical_Router_Port", columns: ["_uuid", "name", "mac", "networks", "external_ids"],
    decode: (r: RawRow): RouterPortRow => ({ ...base(r), name: str(r, "name"), mac: str(r, "mac"), networks: decodeStringSet(r.networks) }) },
  portGroups: { table: "Port_Group", columns: ["_uuid", "name", "ports", "acls", "external_ids"],
    decode: (r: RawRow): PortGroupRow => ({ ...base(r), name: str(r, "name"), ports: decodeUuidSet(r.ports), acls: decodeUuidSet(r.acls) }) },
  acls: { table: "ACL", columns: ["_uuid", "direction", "priority", "match", "action", "external_ids"],
    decode: (r: RawRow): AclRow => ({ ...base(r), direction: str(r, "direction"), priority: Number(decodeOptional(r.priority)), match: str(r, "match"), action: str(r, "action") }) },
  dhcp: { table: "DHCP_Options", columns: ["_uuid", "cidr", "options", "external_ids"],
    decode: (r: RawRow): DhcpRow => ({ ...base(r), cidr: str(r, "cidr"), options: decodeStringMap(r.options) }) },
} as const;

export type NbTableKey = keyof typeof NB_TABLES;
export const NB_TABLE_KEYS = Object.keys(NB_TABLES) as NbTableKey[];

export const emptySnapshot = (): NbSnapshot => ({ switches: [], switchPorts: [], routers: [], routerPorts: [], portGroups: [], acls: [], dhcp: [] });
