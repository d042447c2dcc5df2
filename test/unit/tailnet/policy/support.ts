import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Device, User } from '../../../../src/tailnet/types.js';
import type { Inventory } from '../../../../src/tailnet/policy/index.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/policy/', import.meta.url));

export function fixtureText(name: string): string {
  return readFileSync(`${fixtures}${name}`, 'utf8');
}

export function fixtureInventory(): Inventory {
  return {
    devices: (JSON.parse(fixtureText('devices.json')) as { devices: Device[] }).devices,
    users: (JSON.parse(fixtureText('users.json')) as { users: User[] }).users,
  };
}

/** A compact device for table-driven tests: `n` gives 100.64.0.n and fd7a:115c:a1e0::n. */
export function device(n: number, name: string, user: string, tags: string[] = [], extra: Partial<Device> = {}): Device {
  return {
    id: String(n),
    nodeId: `n${n}`,
    addresses: [`100.64.0.${n}`, `fd7a:115c:a1e0::${n.toString(16)}`],
    name: `${name}.tail0fake.ts.net`,
    hostname: name,
    user,
    tags,
    ...extra,
  };
}

export function user(login: string, role: User['role'] = 'member', type: User['type'] = 'member'): User {
  return { id: login, displayName: login, loginName: login, type, role, status: 'active' };
}
