/**
 * "Another machine" for the egress flood test: a proxy of its own, started the way the provider
 * starts one, reached the way QEMU reaches it (a TCP listener on 127.0.0.1 that starts the Perl
 * connector for every connection, the connection as its stdin/stdout, like guestfwd's cmd:), and
 * used by Debian's real apt-get on this host with a private state folder and configuration.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { appPath } from '../../electron/platform/app-root.js';
import { waitForProxy, writeEgressPolicy } from '../../electron/providers/egress/egress.js';

const PROXY = appPath('electron', 'providers', 'egress', 'egress-proxy.mjs');
const CONNECTOR = appPath('electron', 'providers', 'egress', 'egress-connect.pl');

export interface PeerProxy {
  aptUpdate(): Promise<{ code: number | null; seconds: number; tail: string }>;
  close(): Promise<void>;
}

export async function otherMachineProxy(home: string): Promise<PeerProxy> {
  const dir = path.join(home, 'other-machine');
  mkdirSync(path.join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  mkdirSync(path.join(dir, 'empty'), { recursive: true });
  const sock = path.join(dir, 'egress.sock');
  writeEgressPolicy(path.join(dir, 'egress.json'), 'other', []);
  const proxy = spawn(
    process.execPath,
    [PROXY, sock, path.join(dir, 'egress.json'), path.join(dir, 'egress.log')],
    {
      stdio: 'ignore',
    },
  );
  if (!(await waitForProxy(sock))) throw new Error('the egress proxy did not start');
  const guestfwd = net.createServer({ pauseOnConnect: true }, (c) => {
    spawn('/usr/bin/perl', [CONNECTOR, sock], { stdio: [c, c, 'ignore'] }).on('exit', () => c.destroy());
  });
  await new Promise<void>((r) => guestfwd.listen(0, '127.0.0.1', r));
  const port = (guestfwd.address() as net.AddressInfo).port;
  // apt reads only this configuration: none of this host's apt.conf.d hooks, its own state folder.
  writeFileSync(path.join(dir, 'sources.list'), 'deb http://deb.debian.org/debian bookworm-updates main\n');
  writeFileSync(
    path.join(dir, 'apt.conf'),
    [
      `Dir::Etc::parts "${dir}/empty";`,
      `Dir::Etc::sourcelist "${dir}/sources.list";`,
      `Dir::Etc::sourceparts "${dir}/empty";`,
      `Dir::State::Lists "${dir}/lists";`,
      `Dir::Cache "${dir}/cache";`,
      `Acquire::http::Proxy "http://127.0.0.1:${port}";`,
      'Acquire::Languages "none";',
      'APT::Sandbox::User "root";',
      'Debug::NoLocking "true";',
      '',
    ].join('\n'),
  );
  return {
    aptUpdate: () =>
      new Promise((resolve) => {
        const started = Date.now();
        const child = spawn('apt-get', ['update'], {
          env: { ...process.env, APT_CONFIG: path.join(dir, 'apt.conf') },
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 120_000,
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) =>
          resolve({
            code,
            seconds: (Date.now() - started) / 1000,
            tail: out.split('\n').slice(-6).join('\n'),
          }),
        );
      }),
    close: async () => {
      await new Promise((r) => guestfwd.close(r));
      proxy.kill();
    },
  };
}

/** A memory field of /proc/PID/status in KiB (VmRSS now, VmHWM at the peak); 0 once the process is gone. */
export function statusKiB(pid: number | string, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return Number(
      line
        ?.slice(field.length + 1)
        .trim()
        .split(/\s+/)[0] ?? 0,
    );
  } catch {
    return 0;
  }
}
