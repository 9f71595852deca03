/**
 * `npm run bench -- egress [--runs N]`: what the egress filter costs a guest's apt. The same QEMU
 * machine runs `apt-get update` against the local test repository (served on 127.0.0.1) through
 * its package proxy (the machine's one proxy, a Perl connector per connection), then, with its
 * record set back to open NAT as machines made before the filter have, straight to 10.0.2.2 — the
 * peer. Medians; and one request through the proxy alone, the connector started as QEMU starts it.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { appPath } from '../../electron/platform/app-root.js';
import { waitForProxy, writeEgressPolicy } from '../../electron/providers/egress/egress.js';
import { ensureRepo, serveRepo, useRepoScript } from '../integration/apt-repo.js';
import { must, newHome, newService, sh } from '../integration/vm-env.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** One request through the connector (started as QEMU starts it) and the machine's proxy: ms to the answer. */
async function proxyOnce(sock: string, port: number): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/perl',
      [appPath('electron', 'providers', 'egress', 'egress-connect.pl'), sock],
      {
        stdio: ['pipe', 'pipe', 'ignore'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.endsWith('ok')) {
        resolve(performance.now() - t);
        child.stdin.end();
      }
    });
    child.on('error', reject);
    child.stdin.write(`GET http://10.0.2.2:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

/** The machine's proxy as the provider starts it; resolves once its socket answers. */
async function startProxy(home: string, policy: string): Promise<{ sock: string; stop: () => void }> {
  const sock = path.join(home, 'egress.sock');
  const proxy = spawn(
    process.execPath,
    [
      '--no-warnings',
      appPath('electron', 'providers', 'egress', 'egress-proxy.mjs'),
      sock,
      policy,
      path.join(home, 'egress.log'),
    ],
    { stdio: 'ignore' },
  );
  if (!(await waitForProxy(sock))) throw new Error('the egress proxy did not start');
  return { sock, stop: () => proxy.kill() };
}

export async function benchEgress(argv: string[]): Promise<void> {
  const runs = Math.max(3, Number(argv[argv.indexOf('--runs') + 1]) || 5);
  const home = newHome('bench-egress');

  const server = net.createServer((c) =>
    c.on('data', () => c.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const policy = path.join(home, 'egress.json');
  writeEgressPolicy(policy, 'bench', [`10.0.2.2:${port}`]);
  const alone: number[] = [];
  const proxy = await startProxy(home, policy);
  for (let i = 0; i < runs * 4; i += 1) alone.push(await proxyOnce(proxy.sock, port));
  proxy.stop();
  server.close();

  const { client } = newService(home);
  const M = 'begress';
  const repo = await serveRepo(ensureRepo());
  console.error('booting a machine…');
  await must(client, 'machines.create', { name: M, memoryMiB: 1024, cpus: 2 });
  await must(client, 'machines.up', { name: M });
  await must(client, 'machines.egress', { name: M, allow: [repo.egress] });
  await sh(client, M, `sudo -n sh -c '${useRepoScript(repo).replace(/'/g, `'\\''`)}'`);
  const update = async (extra: string) => {
    const xs: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      await sh(client, M, 'sudo -n rm -rf /var/lib/apt/lists/*');
      const t = performance.now();
      await sh(client, M, `sudo -n apt-get update -q ${extra} >/dev/null`, 300_000);
      xs.push(performance.now() - t);
    }
    return xs;
  };
  const filtered = await update('');
  // The peer: the same guest on open NAT, apt straight to the host's port.
  await must(client, 'machines.down', { name: M });
  const file = path.join(home, 'machines', M, 'machine.json');
  const rec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete rec.network;
  writeFileSync(file, JSON.stringify(rec));
  await must(client, 'machines.up', { name: M });
  const open = await update('-o Acquire::http::Proxy=DIRECT');
  await must(client, 'machines.destroy', { name: M });
  await repo.close();

  const s = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s`;
  console.log(`runs: ${runs}`);
  console.log(
    `proxy alone, one request through a connector started as QEMU starts it: median ${median(alone).toFixed(0)} ms`,
  );
  console.log(
    `apt-get update from the local repository, filtered (through the proxy): median ${s(filtered)}`,
  );
  console.log(`the same, open NAT straight to 10.0.2.2 (machines made before the filter): median ${s(open)}`);
}
