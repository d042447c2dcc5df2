import { createHash } from 'node:crypto';
import type { Device } from '../../tailnet/types.js';

/** What a simulated host answers to one command. */
export interface CommandAnswer {
  stdout?: string | Buffer;
  stderr?: string;
  exit: number;
}

export interface CommandContext {
  argv: string[];
  /** The whole of stdin, for commands that read it (e.g. `tailscale up --auth-key=file:/dev/stdin`). */
  stdin(): Promise<Buffer>;
}

export type CommandHandler = (ctx: CommandContext) => Promise<CommandAnswer> | CommandAnswer;

export interface HostProfile {
  hostname: string;
  /** Handlers by program name (argv[0], basename). Anything else: "not found", exit 127. */
  commands: Map<string, CommandHandler>;
}

export interface CompromisedHostFacts {
  device: Device;
  /** Addresses of other tailnet devices the implant talks to (shown in `ss`). */
  peers: string[];
  now: Date;
  /** Called by `tailscale up --auth-key=file:…` on the rebuilt host. */
  enroll?: (authKey: string, hostname: string) => Promise<{ ok: boolean; message: string }>;
}

const ok = (stdout: string): CommandAnswer => ({ stdout, exit: 0 });

/**
 * A Linux laptop with Tailscale installed and an implant: a process masquerading as a kernel
 * worker from /tmp, an SSH login from an unusual address, a cron persistence entry. Enough for
 * a trainee to find something in the evidence; nothing here is real.
 */
export function compromisedLinuxHost(facts: CompromisedHostFacts): HostProfile {
  const { device, now } = facts;
  const hostname = device.hostname;
  const [v4 = '100.64.0.1', v6 = 'fd7a:115c:a1e0::1'] = device.addresses;
  const iso = now.toISOString();
  const day = iso.slice(0, 10);
  const stateDir = '/var/lib/tailscale';
  const stateFile = `${stateDir}/tailscaled.state`;
  const stateHash = createHash('sha256').update(`state:${device.nodeId}`).digest('hex');
  const peer = facts.peers[0] ?? '100.64.0.20';
  const commands = new Map<string, CommandHandler>();

  const tailscaleStatus = {
    Version: '1.80.2-t1234abcd',
    BackendState: 'Running',
    Self: { ID: device.nodeId, HostName: hostname, DNSName: `${device.name}.`, TailscaleIPs: device.addresses, Online: true, OS: 'linux' },
    Peer: Object.fromEntries(facts.peers.map((p, i) => [`nodekey:peer${i}`, { TailscaleIPs: [p], Online: true }])),
    MagicDNSSuffix: device.name.split('.').slice(1).join('.'),
  };

  commands.set('tailscale', async (ctx) => {
    const [sub, ...rest] = ctx.argv.slice(1);
    switch (sub) {
      case 'version':
        return ok('1.80.2\n  tailscale commit: 1234abcd\n  go version: go1.23.6\n');
      case 'status':
        return rest.includes('--json') ? ok(`${JSON.stringify(tailscaleStatus, null, 2)}\n`) : ok(`${v4}  ${hostname}  ${device.user}  linux  -\n`);
      case 'debug':
        return rest[0] === 'prefs'
          ? ok(`${JSON.stringify({ ControlURL: 'https://controlplane.tailscale.com', RouteAll: false, ExitNodeID: '', RunSSH: false, AdvertiseRoutes: null, Hostname: hostname }, null, 2)}\n`)
          : { stderr: `unknown debug subcommand ${JSON.stringify(rest[0] ?? '')}\n`, exit: 1 };
      case 'netcheck':
        return ok('Report:\n\t* UDP: true\n\t* IPv4: yes, 203.0.113.7:41641\n\t* IPv6: no\n\t* Nearest DERP: Frankfurt\n');
      case 'bugreport':
        return ok(`BUG-${createHash('sha256').update(`${device.nodeId}${iso}`).digest('hex').slice(0, 40)}-${day.replace(/-/g, '')}\n`);
      case 'up': {
        const keyArg = rest.find((a) => a.startsWith('--auth-key=') || a.startsWith('--authkey='));
        const hostArg = rest.find((a) => a.startsWith('--hostname='))?.slice('--hostname='.length) ?? hostname;
        if (!keyArg) return { stderr: 'tailscale up: this drill host only enrols with --auth-key=file:PATH\n', exit: 1 };
        const value = keyArg.slice(keyArg.indexOf('=') + 1);
        if (!value.startsWith('file:')) return { stderr: 'refusing an auth key on the command line; use --auth-key=file:PATH\n', exit: 1 };
        const key = value === 'file:/dev/stdin' ? (await ctx.stdin()).toString('utf8').trim() : '';
        if (!key) return { stderr: `cannot read auth key from ${value.slice(5)}\n`, exit: 1 };
        if (!facts.enroll) return { stderr: 'backend error: control server unreachable\n', exit: 1 };
        const r = await facts.enroll(key, hostArg);
        return r.ok ? ok('Success.\n') : { stderr: `backend error: ${r.message}\n`, exit: 1 };
      }
      default:
        return { stderr: `tailscale: unknown subcommand ${JSON.stringify(sub ?? '')}\n`, exit: 1 };
    }
  });

  commands.set('journalctl', () =>
    ok(
      [
        `${day}T08:01:12+0000 ${hostname} tailscaled[812]: wgengine: Reconfig: configuring userspace WireGuard config (with 9/9 peers)`,
        `${day}T08:14:55+0000 ${hostname} tailscaled[812]: magicsock: disco: node [peer0] now using ${peer}:41641`,
        `${day}T08:15:02+0000 ${hostname} tailscaled[812]: netstack: accepted TCP connection from ${v4} to ${peer}:5432`,
        `${day}T08:15:09+0000 ${hostname} tailscaled[812]: Accept: TCP{${v4}:51514 > ${peer}:5432} 60 tcp ok`,
        '',
      ].join('\n'),
    ),
  );
  commands.set('uname', () => ok(`Linux ${hostname} 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64 GNU/Linux\n`));
  commands.set('uptime', () => ok(' 08:30:01 up 3 days,  2:11,  2 users,  load average: 0.42, 0.37, 0.30\n'));
  commands.set('hostname', () => ok(`${hostname}\n`));
  commands.set('who', () => ok(`bob      tty7         ${day} 07:58 (:0)\nbob      pts/3        ${day} 08:12 (198.51.100.23)\n`));
  commands.set('w', () => ok(` 08:30:01 up 3 days,  2 users\nUSER     TTY      FROM             LOGIN@   IDLE   WHAT\nbob      pts/3    198.51.100.23    08:12    0.00s  bash\n`));
  commands.set('last', () => ok(`bob      pts/3        198.51.100.23    ${day} 08:12   still logged in\nbob      tty7         :0               ${day} 07:58   still logged in\n\nwtmp begins Mon Nov  2 09:00:00 2026\n`));
  commands.set('ps', () =>
    ok(
      [
        'USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND',
        'root           1  0.0  0.1 167744 11904 ?        Ss   Nov18   0:03 /sbin/init',
        'root         812  0.2  0.6 1250000 52000 ?       Ssl  Nov18   4:12 /usr/sbin/tailscaled --state=/var/lib/tailscale/tailscaled.state',
        'bob         4242  6.3  0.2  23000 18000 ?        S    08:13   0:41 [kworker/u8:3] /tmp/.cache/.x/kw',
        'bob         4301  0.0  0.0   8000  3000 pts/3    Ss   08:12   0:00 -bash',
        '',
      ].join('\n'),
    ),
  );
  commands.set('ss', () =>
    ok(
      [
        'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
        `tcp   ESTAB  0      0      ${v4}:51514     ${peer}:5432     users:(("kw",pid=4242,fd=5))`,
        'tcp   ESTAB  0      0      192.168.1.23:22     198.51.100.23:50122 users:(("sshd",pid=4300,fd=4))',
        'udp   UNCONN 0      0      0.0.0.0:41641       0.0.0.0:*        users:(("tailscaled",pid=812,fd=9))',
        '',
      ].join('\n'),
    ),
  );
  commands.set('ip', (ctx) =>
    ctx.argv.includes('route')
      ? ok('default via 192.168.1.1 dev wlp2s0 proto dhcp metric 600\n100.100.100.100 dev tailscale0 table 52\n')
      : ok(`1: lo: <LOOPBACK,UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n3: tailscale0: <POINTOPOINT,UP> mtu 1280\n    inet ${v4}/32 scope global tailscale0\n    inet6 ${v6}/128 scope global\n`),
  );
  commands.set('nft', () => ok('table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n'));
  commands.set('iptables-save', () => ok('*filter\n:INPUT ACCEPT [0:0]\n:ts-input - [0:0]\n-A INPUT -j ts-input\nCOMMIT\n'));
  commands.set('systemctl', (ctx) =>
    ctx.argv[1] === 'show'
      ? ok('User=\nNoNewPrivileges=no\nProtectSystem=no\nProtectHome=no\nPrivateTmp=no\nRestrictNamespaces=no\nMemoryDenyWriteExecute=no\n')
      : { stderr: 'System has not been booted with systemd as init system (PID 1).\n', exit: 1 },
  );
  commands.set('crontab', () => ok('@reboot /tmp/.cache/.x/kw >/dev/null 2>&1\n'));
  const files: Record<string, string> = {
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob Builder:/home/bob:/bin/bash\nsupport:x:1001:1001::/home/support:/bin/sh\n',
    '/etc/group': 'root:x:0:\nsudo:x:27:bob,support\nbob:x:1000:\n',
    '/var/log/auth.log': `${day}T08:12:40 ${hostname} sshd[4300]: Accepted publickey for bob from 198.51.100.23 port 50122 ssh2: ED25519 SHA256:k1Wz\n${day}T08:12:58 ${hostname} useradd[4322]: new user: name=support, UID=1001, GID=1001\n`,
    '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
  };
  commands.set('cat', (ctx) => {
    const path = operands(ctx.argv)[0] ?? '';
    if (path === stateFile) return ok(`{"_machinekey":"(simulated private node state)","_profiles":"${device.nodeId}"}\n`);
    const text = files[path];
    return text === undefined ? { stderr: `cat: ${path}: No such file or directory\n`, exit: 1 } : ok(text);
  });
  commands.set('test', (ctx) => {
    const path = ctx.argv[2] ?? '';
    return { exit: ctx.argv[1] === '-e' && (path in files || path === stateDir || path === stateFile) ? 0 : 1 };
  });
  commands.set('find', (ctx) =>
    ctx.argv[1] === stateDir ? ok(`${stateHash}  ${stateFile}\n${createHash('sha256').update('certs').digest('hex')}  ${stateDir}/certs/README\n`) : { stderr: `find: '${ctx.argv[1] ?? ''}': No such file or directory\n`, exit: 1 },
  );
  commands.set('ls', () => ok('total 16\n-rw------- 1 root root 2301 Nov 20 08:01 tailscaled.state\ndrwx------ 2 root root 4096 Nov 18 09:00 certs\n'));
  commands.set('sha256sum', (ctx) => {
    const path = ctx.argv[1] ?? '';
    return path.endsWith('tailscaled.state') ? ok(`${stateHash}  ${path}\n`) : { stderr: `sha256sum: ${path}: No such file or directory\n`, exit: 1 };
  });
  commands.set('id', () => ok('uid=0(root) gid=0(root) groups=0(root)\n'));
  commands.set('true', () => ({ exit: 0 }));
  commands.set('date', () => ok(`${iso}\n`));
  return { hostname, commands };
}

/** `command -v NAME` and `which NAME`, answered from the profile's own command table. */
/** Arguments after options and a `--` separator. */
function operands(argv: string[]): string[] {
  const rest = argv.slice(1);
  const dd = rest.indexOf('--');
  return dd >= 0 ? rest.slice(dd + 1) : rest.filter((a) => !a.startsWith('-'));
}

export function answerLookup(profile: HostProfile, name: string): CommandAnswer {
  return profile.commands.has(name) ? ok(`/usr/bin/${name}\n`) : { exit: 1 };
}
