/** A real OpenSSH sshd on 127.0.0.1 for tests: own config, host key and authorized key, key-only. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../electron/platform/ports.js';
import { ensureKeyPair } from '../../electron/ssh/keys.js';
import type { SshTarget } from '../../electron/ssh/session.js';
import { newHome } from './vm-env.js';

export interface Sshd {
  dir: string;
  port: number;
  target: SshTarget;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** A new host key, as a reinstalled or impersonated server would present. */
  rotateHostKey(): void;
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function waitPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`sshd did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startSshd(): Promise<Sshd> {
  const dir = newHome('sshd');
  const port = await freePort();
  const key = ensureKeyPair(path.join(dir, 'keys'), 'local');
  const hostKey = path.join(dir, 'host_ed25519');
  const genHostKey = () => {
    rmSync(hostKey, { force: true });
    rmSync(`${hostKey}.pub`, { force: true });
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  };
  genHostKey();
  writeFileSync(path.join(dir, 'authorized_keys'), key.publicKey + '\n', { mode: 0o600 });
  const cfg = path.join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  mkdirSync('/run/sshd', { recursive: true });
  let child: ChildProcess | undefined;
  const sshd: Sshd = {
    dir,
    port,
    target: {
      machine: 'local-sshd',
      host: '127.0.0.1',
      port,
      user: os.userInfo().username,
      privateKey: key.privateKey,
    },
    async start() {
      child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], { stdio: 'ignore' });
      await waitPort(port, 10_000);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || !c.pid) return;
      // Like a real restart: established sessions (children of the listener) die too.
      for (const pid of childrenOf(c.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    },
    rotateHostKey: genHostKey,
  };
  await sshd.start();
  return sshd;
}
