import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createDefaultRegistry } from '../../../src/engine/activities/index.js';
import { parsePlaybook, PlaybookInvalidError } from '../../../src/engine/playbook-loader.js';
import { playbookMermaid } from '../../../src/engine/playbook-graph.js';

const registry = createDefaultRegistry();

function issuesOf(yaml: string) {
  try {
    parsePlaybook(yaml, 'test.yaml', registry);
  } catch (e) {
    if (e instanceof PlaybookInvalidError) return e.issues;
    throw e;
  }
  throw new Error('expected the playbook to be invalid');
}

const header = 'id: t\nversion: 1\ndescription: test\ninputs:\n  target: { type: string, description: the device }\n';

describe('playbook validation', () => {
  it('accepts the shipped node-compromise playbook', () => {
    const src = readFileSync(new URL('../../../playbooks/node-compromise.yaml', import.meta.url), 'utf8');
    const p = parsePlaybook(src, 'node-compromise.yaml', registry);
    expect(p.id).toBe('node-compromise');
    expect(p.steps.map((s) => s.id)).toContain('delete-device');
  });

  it('reports YAML syntax errors with their line', () => {
    const [issue] = issuesOf(`${header}steps:\n  - id: a\n    action: [unclosed\n`);
    expect(issue?.message).toMatch(/^YAML:/);
    expect(issue?.line).toBeGreaterThanOrEqual(8);
  });

  it('names the line and field of an unknown action, and lists the known ones', () => {
    const issues = issuesOf(`${header}steps:\n  - id: a\n    action: tailnet-snapshot\n    params: { target: x }\n  - id: b\n    action: reboot-universe\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: 'steps[1].action', line: 11 });
    expect(issues[0]?.message).toMatch(/unknown action "reboot-universe".*suspend-user/);
  });

  it('rejects duplicate step ids', () => {
    const issues = issuesOf(`${header}steps:\n  - id: a\n    action: write-report\n  - id: a\n    action: write-report\n`);
    expect(issues[0]).toMatchObject({ field: 'steps[1].id', line: 9 });
  });

  it('rejects guards that read an undeclared input or a later step', () => {
    const issues = issuesOf(
      `${header}steps:\n  - id: a\n    action: write-report\n    when: inputs.nope\n  - id: b\n    action: write-report\n    when: steps.c.output.x\n  - id: c\n    action: write-report\n`,
    );
    expect(issues.map((i) => i.field)).toEqual(['steps[0].when', 'steps[1].when']);
    expect(issues[0]?.message).toMatch(/names no declared input/);
    expect(issues[1]?.message).toMatch(/does not run before b/);
  });

  it('rejects a guard that does not parse', () => {
    const issues = issuesOf(`${header}steps:\n  - id: a\n    action: write-report\n    when: "inputs.target =="\n`);
    expect(issues[0]?.message).toMatch(/bad guard/);
  });

  it('requires compensation steps to exist and on_failure compensate to name one', () => {
    const issues = issuesOf(
      `${header}steps:\n  - id: a\n    action: write-report\n    on_failure: compensate\n  - id: b\n    action: write-report\n    on_failure: compensate\n    compensation: undo-b\n`,
    );
    expect(issues.map((i) => i.message)).toEqual([
      'on_failure: compensate needs a `compensation` step id',
      expect.stringMatching(/compensation "undo-b" is not defined/),
    ]);
  });

  it('checks params against the activity schema but lets ${…} references through', () => {
    const issues = issuesOf(`${header}steps:\n  - id: a\n    action: suspend-user\n    params: { userId: 7 }\n  - id: b\n    action: revoke-auth-keys\n    params: { keyIds: '\${inputs.target}' }\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.field).toBe('steps[0].params.userId');
  });

  it('locates a missing required field at its parent', () => {
    const issues = issuesOf(`${header}steps:\n  - id: a\n    params: {}\n`);
    expect(issues[0]).toMatchObject({ field: 'steps[0].action', line: 7 });
  });
});

describe('playbook graph', () => {
  it('prints a Mermaid state diagram with gates, guards and failure edges', () => {
    const src = readFileSync(new URL('../../../playbooks/node-compromise.yaml', import.meta.url), 'utf8');
    const graph = playbookMermaid(parsePlaybook(src, 'x.yaml', registry), registry);
    expect(graph.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(graph).toContain('[*] --> triage');
    expect(graph).toMatch(/state "delete-device \(delete-device\) \[approval\] \[destructive\]" as delete_device/);
    expect(graph).toContain('triage --> aborted : failure');
    expect(graph).toMatch(/suspend_user --> revoke_keys : skipped unless/);
    expect(graph).toContain('report --> [*]');
  });
});
