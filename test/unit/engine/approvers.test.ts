import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approvalPolicySchema, createFlagApprover, createPolicyApprover, firstDecisive, loadApprovalPolicy } from '../../../src/engine/approvers.js';
import type { ApprovalRequest } from '../../../src/engine/ports.js';

const req = (stepId: string, action: string, destructive: boolean): ApprovalRequest => ({ runId: 'r-1', stepId, action, destructive, prompt: 'ok?', summary: [], planDigest: 'd' });

describe('flag approver (--approve)', () => {
  it('all approves everything, naming the operator', async () => {
    expect(await createFlagApprover('all', 'alice').decide(req('delete-device', 'delete-device', true))).toEqual({ kind: 'approved', by: 'alice', reason: '--approve all' });
  });
  it('a step list approves those steps; others pause with the resume command', async () => {
    const a = createFlagApprover('quarantine, suspend-user', 'alice');
    expect((await a.decide(req('suspend-user', 'suspend-user', true))).kind).toBe('approved');
    const d = await a.decide(req('delete-device', 'delete-device', true));
    expect(d).toMatchObject({ kind: 'pending' });
    expect(d.kind === 'pending' && d.message).toContain('tailnet-ir resume r-1 --approve delete-device');
  });
  it('none approves nothing', async () => {
    expect((await createFlagApprover('none', 'x').decide(req('q', 'policy-quarantine', false))).kind).toBe('pending');
  });
  it('rejects an empty spec', () => {
    expect(() => createFlagApprover(' ', 'x')).toThrow(/--approve needs/);
  });
});

describe('policy approver', () => {
  const policy = approvalPolicySchema.parse({
    default: 'auto',
    rules: [
      { action: 'policy-quarantine', decision: 'auto' },
      { destructive: true, decision: 'manual' },
      { step: 'recreate', decision: 'deny' },
    ],
  });
  const approver = createPolicyApprover(policy, 'approvals.yaml');

  it('quarantine auto, destruction manual', async () => {
    expect((await approver.decide(req('quarantine', 'policy-quarantine', false))).kind).toBe('approved');
    const d = await approver.decide(req('suspend-user', 'suspend-user', true));
    expect(d.kind).toBe('pending');
  });
  it('deny rules deny', async () => {
    expect(await approver.decide(req('recreate', 'recreate-device', false))).toMatchObject({ kind: 'denied', by: 'approval policy approvals.yaml' });
  });
  it('a default of auto never approves a destructive step', async () => {
    const lax = createPolicyApprover(approvalPolicySchema.parse({ default: 'auto' }), 'lax.yaml');
    expect((await lax.decide(req('delete-device', 'delete-device', true))).kind).toBe('pending');
    expect((await lax.decide(req('verify', 'policy-verify', false))).kind).toBe('approved');
  });
  it('a rule naming the destructive action may auto-approve it', async () => {
    const named = createPolicyApprover(approvalPolicySchema.parse({ rules: [{ action: 'revoke-auth-keys', decision: 'auto' }] }), 'p.yaml');
    expect((await named.decide(req('revoke-keys', 'revoke-auth-keys', true))).kind).toBe('approved');
  });
  it('combines with the command line: the first decisive answer wins', async () => {
    const combined = firstDecisive(approver, createFlagApprover('suspend-user', 'alice'));
    expect(await combined.decide(req('suspend-user', 'suspend-user', true))).toMatchObject({ kind: 'approved', by: 'alice' });
  });
  it('loads from YAML and reports bad files with the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tnir-appr-'));
    writeFileSync(join(dir, 'ok.yaml'), 'default: manual\nrules:\n  - action: policy-quarantine\n    decision: auto\n');
    expect((await loadApprovalPolicy(join(dir, 'ok.yaml'))).rules).toHaveLength(1);
    writeFileSync(join(dir, 'bad.yaml'), 'default: sometimes\n');
    await expect(loadApprovalPolicy(join(dir, 'bad.yaml'))).rejects.toThrow(/bad.yaml \(field default\)/);
  });
});
