import { describe, expect, it } from 'vitest';
import { AddressSet, parseIp, formatIp } from '../../../../src/tailnet/policy/index.js';
import { TAILNET_V4 } from '../../../../src/tailnet/policy/addresses.js';

describe('addresses', () => {
  it('parses and formats IPv4 and IPv6', () => {
    expect(formatIp(parseIp('100.64.0.1')!)).toBe('100.64.0.1');
    expect(formatIp(parseIp('fd7a:115c:a1e0:0:0:0:0:1')!)).toBe('fd7a:115c:a1e0::1');
    expect(formatIp(parseIp('::')!)).toBe('::');
    expect(parseIp('100.64.0.256')).toBeUndefined();
    expect(parseIp('01.2.3.4')).toBeUndefined();
    expect(parseIp('fd7a::1::2')).toBeUndefined();
  });

  it('keeps IPv4 and IPv6 apart', () => {
    const s = AddressSet.parsePrefix('100.64.0.0/10')!;
    expect(s.has(parseIp('100.100.1.1')!)).toBe(true);
    expect(s.has(parseIp('fd7a:115c:a1e0::1')!)).toBe(false);
  });

  it('subtracts a single address and splits into minimal CIDRs', () => {
    const s = AddressSet.parsePrefix('10.0.0.0/30')!.subtract(AddressSet.parsePrefix('10.0.0.1')!);
    expect(s.toPrefixes()).toEqual(['10.0.0.0', '10.0.0.2/31']);
    const all = s.union(AddressSet.parsePrefix('10.0.0.1')!);
    expect(all.toPrefixes()).toEqual(['10.0.0.0/30']);
  });

  it('excludes 100.115.92.0/23 from the tailnet range', () => {
    expect(TAILNET_V4.has(parseIp('100.115.92.7')!)).toBe(false);
    expect(TAILNET_V4.has(parseIp('100.115.94.1')!)).toBe(true);
    expect(TAILNET_V4.toPrefixes()).toContain('100.64.0.0/11');
  });

  it('round-trips IPv6 prefix subtraction', () => {
    const net = AddressSet.parsePrefix('fd7a:115c:a1e0::/48')!;
    const one = AddressSet.parsePrefix('fd7a:115c:a1e0::5')!;
    const rest = net.subtract(one);
    expect(rest.has(parseIp('fd7a:115c:a1e0::5')!)).toBe(false);
    expect(rest.has(parseIp('fd7a:115c:a1e0::4')!)).toBe(true);
    expect(rest.union(one).equals(net)).toBe(true);
    expect(rest.toPrefixes().length).toBe(80);
  });
});
