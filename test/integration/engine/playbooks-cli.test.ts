import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/run-cli.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tnir-playbooks-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const good = 'id: my-drill\nversion: 1\ndescription: just a report\nsteps:\n  - id: report\n    action: write-report\n';
const bad = 'id: broken\nversion: 1\ndescription: bad\nsteps:\n  - id: a\n    action: launch-missiles\n';

describe('tailnet-ir playbooks', () => {
  it('lists the shipped playbooks and those of --dir', async () => {
    const r = await runCli(['playbooks', 'list', '--dir', dirWith({ 'mine.yaml': good }), '--json']);
    expect(r.code).toBe(0);
    const ids = (JSON.parse(r.stdout) as { playbooks: { id: string }[] }).playbooks.map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining(['node-compromise', 'my-drill']));
  });

  it('validate names file, line and field of every problem and exits 2', async () => {
    const dir = dirWith({ 'broken.yaml': bad });
    const r = await runCli(['playbooks', 'validate', join(dir, 'broken.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${join(dir, 'broken.yaml')}:6:13 steps[0].action: unknown action "launch-missiles"`);
  });

  it('validate with no arguments checks every playbook found', async () => {
    const r = await runCli(['playbooks', 'validate', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true });
  });

  it('graph prints Mermaid', async () => {
    const r = await runCli(['playbooks', 'graph', 'node-compromise']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^stateDiagram-v2\n/);
  });

  it('show of an unknown playbook suggests the known ids', async () => {
    const r = await runCli(['playbooks', 'show', 'node-compromize']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Did you mean: node-compromise');
  });
});
