/**
 * File input for the `policy` commands: the policy text, and the API bodies of
 * `GET …/devices` and `GET …/users` as saved by curl. The only I/O of the policy engine.
 */
import { readFile } from 'node:fs/promises';
import { InputFileError } from '../core/errors.js';
import type { Device, PolicyTest, User } from './types.js';
import type { Inventory } from './policy/index.js';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFileError(path, `cannot read the ${what} (${code ?? (e as Error).message})`, undefined, {
      hint: 'check the path; nothing was changed.',
    });
  }
}

function parseJson(path: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputFileError(path, `the ${what} is not valid JSON: ${(e as Error).message}`, undefined, {
      hint: 'save the API response body unchanged (curl -o FILE); nothing was changed.',
    });
  }
}

export async function readPolicyText(path: string): Promise<string> {
  return readText(path, 'policy file');
}

export async function readDevices(path: string): Promise<Device[]> {
  const body = parseJson(path, await readText(path, 'device list'), 'device list');
  const list = Array.isArray(body) ? body : (body as { devices?: unknown })?.devices;
  if (!Array.isArray(list))
    throw new InputFileError(path, 'expected the body of GET /api/v2/tailnet/-/devices: {"devices": [...]}', undefined, { hint: 'nothing was changed.' });
  list.forEach((d: unknown, i: number) => {
    const dev = d as Partial<Device>;
    if (typeof dev !== 'object' || dev === null || !Array.isArray(dev.addresses) || (typeof dev.nodeId !== 'string' && typeof dev.id !== 'string'))
      throw new InputFileError(path, `devices[${i}] needs "addresses" and "nodeId" (or "id")`, { field: `devices[${i}]` });
    dev.nodeId ??= dev.id as string;
    dev.name ??= dev.hostname ?? dev.nodeId;
    dev.hostname ??= (dev.name ?? '').split('.')[0] ?? '';
    dev.user ??= '';
  });
  return list as Device[];
}

export async function readUsers(path: string | undefined): Promise<User[]> {
  if (!path) return [];
  const body = parseJson(path, await readText(path, 'user list'), 'user list');
  const list = Array.isArray(body) ? body : (body as { users?: unknown })?.users;
  if (!Array.isArray(list) || list.some((u) => typeof (u as Partial<User>)?.loginName !== 'string'))
    throw new InputFileError(path, 'expected the body of GET /api/v2/tailnet/-/users: {"users": [{"loginName": …}]}', undefined, { hint: 'nothing was changed.' });
  return list as User[];
}

export async function readInventory(devicesPath: string, usersPath?: string): Promise<Inventory> {
  return { devices: await readDevices(devicesPath), users: await readUsers(usersPath) };
}

export async function readExtraTests(path: string): Promise<PolicyTest[]> {
  const body = parseJson(path, await readText(path, 'extra tests'), 'extra tests');
  if (!Array.isArray(body)) throw new InputFileError(path, 'expected a JSON array of test entries ({"src", "accept", "deny"})');
  return body as PolicyTest[];
}

/** Written atomically (and fsync'd) so an interrupted run never leaves half a policy. */
export { writeFileAtomic } from '../engine/atomic-file.js';
