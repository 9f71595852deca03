/** Egress allow-list entries, the filtered -netdev QEMU gets, and what the guest is told. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { changedAllowList, egressEntries, egressEntry, GUEST_APT_PROXY_FILE } from '../../shared/egress.js';
import {
  APT_PROXY_CONF,
  EGRESS_SEED_LINE,
  filteredNetdev,
  recentEgress,
} from '../../electron/providers/egress/egress.js';
import { nocloudFiles, NO_DNS_RESOLV_CONF } from '../../electron/providers/nocloud.js';
import { settingEgressAllow, writeSetting } from '../../electron/core/settings.js';
import { egressText } from '../../electron/host/cli/egress-commands.js';
import { appPath } from '../../electron/platform/app-root.js';

describe('egress entries', () => {
  it('canonicalises HOST:PORT and refuses anything else, naming the entry', () => {
    expect(egressEntry('Deb.Debian.ORG.:80')).toBe('deb.debian.org:80');
    expect(egressEntry(' 10.0.2.2:3142 ')).toBe('10.0.2.2:3142');
    for (const bad of [
      'deb.debian.org',
      ':80',
      'host:0',
      'host:65536',
      'http://host:80',
      'a b:80',
      'host:80,evil:22',
      '[::1]:80',
      'under_score.example:80',
      `${'a'.repeat(64)}.example:80`,
      'host:80\nAcquire::x "y"',
    ])
      expect(() => egressEntry(bad), bad).toThrow(new RegExp(`Egress entry .* is not HOST:PORT`));
  });

  it('adds without duplicates, removes, and caps the list', () => {
    expect(changedAllowList(['a.example:80'], { allow: ['A.example:80', 'b.example:443'] })).toEqual([
      'a.example:80',
      'b.example:443',
    ]);
    expect(changedAllowList(['a.example:80', 'b.example:443'], { remove: ['a.example:80'] })).toEqual([
      'b.example:443',
    ]);
    const many = Array.from({ length: 65 }, (_, i) => `h${i}.example:80`);
    expect(() => changedAllowList([], { allow: many })).toThrow(/at most 64 entries/);
    expect(egressEntries('a.example:80, b.example:443\n10.0.2.2:1')).toEqual([
      'a.example:80',
      'b.example:443',
      '10.0.2.2:1',
    ]);
  });

  it('reads the egress-allow setting, naming the file and key of a bad entry', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'hlab-egress-home-'));
    expect(settingEgressAllow(home)).toEqual([]);
    writeSetting(home, 'egress-allow', '10.0.2.2:3142 mirror.example:80');
    expect(settingEgressAllow(home)).toEqual(['10.0.2.2:3142', 'mirror.example:80']);
    writeSetting(home, 'egress-allow', 'mirror.example');
    expect(() => settingEgressAllow(home)).toThrow(
      /settings\.json: egress-allow: Egress entry "mirror\.example"/,
    );
  });
});

describe('the filtered -netdev', () => {
  it('restricts, forwards only SSH in and the proxy out, and quotes the command for QEMU and the shell', () => {
    const v = filteredNetdev(40022, "/home/o'b,x/m/egress.sock");
    expect(
      v.startsWith(
        'user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:10.0.2.100:3142-cmd:',
      ),
    ).toBe(true);
    // QEMU's option parser reads ",," as one comma; the rest is split like a shell would.
    const cmd = v.slice(v.indexOf('-cmd:') + 5).replace(/,,/g, ',');
    expect(v.slice(v.indexOf('-cmd:') + 5)).not.toMatch(/(^|[^,]),([^,]|$)/);
    const words = spawnSync('sh', ['-c', `printf '%s\\n' ${cmd}`], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n');
    expect(words).toEqual([
      '/usr/bin/perl',
      appPath('electron', 'providers', 'egress', 'egress-connect.pl'),
      "/home/o'b,x/m/egress.sock",
    ]);
  });
});

describe('what the guest is told', () => {
  it('hlab-seed writes the same apt configuration and a no-DNS resolv.conf', () => {
    const seedScript = readFileSync(appPath('electron', 'images', 'guest', 'hlab-seed'), 'utf8');
    const root = mkdtempSync(path.join(os.tmpdir(), 'hlab-seedsh-'));
    mkdirSync(path.join(root, 'apt', 'apt.conf.d'), { recursive: true });
    const aptFile = path.join(root, GUEST_APT_PROXY_FILE.replace(/^\/etc\//, ''));
    // Run the egress part of hlab-seed against a scratch root: its printf must yield our text.
    const part = seedScript
      .slice(seedScript.indexOf('apt_conf='), seedScript.indexOf('esac', seedScript.indexOf('apt_conf=')) + 4)
      .replaceAll('/etc/', `${root}/`);
    const url = EGRESS_SEED_LINE.trim().replace(/^egress=/, '');
    const r = spawnSync('sh', ['-c', `egress=${url}\n${part}`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readFileSync(aptFile, 'utf8')).toBe(APT_PROXY_CONF);
    expect(readFileSync(path.join(root, 'resolv.conf'), 'utf8')).toBe(NO_DNS_RESOLV_CONF);
    // A value that is not the app's http://IPv4:PORT never reaches apt.
    const bad = spawnSync('sh', ['-c', `egress='http://x";Acquire::y "z'\n${part}`], { encoding: 'utf8' });
    expect(bad.status).toBe(0);
    expect(() => readFileSync(aptFile)).toThrow();
    expect(readFileSync(path.join(root, 'resolv.conf'), 'utf8')).toBe('nameserver 10.0.2.3\n');
  });

  it('cloud-init gets the same files through write_files', () => {
    const f = nocloudFiles({
      instanceId: 'i',
      hostname: 'm',
      user: 'lab',
      publicKey: 'ssh-ed25519 AAAA x',
      aptProxyConf: APT_PROXY_CONF,
    });
    const cfg = parse(f['user-data']) as { write_files: Array<{ path: string; content: string }> };
    expect(cfg.write_files).toEqual([
      expect.objectContaining({ path: GUEST_APT_PROXY_FILE, content: APT_PROXY_CONF }),
      expect.objectContaining({ path: '/etc/resolv.conf', content: NO_DNS_RESOLV_CONF }),
    ]);
    expect(
      parse(nocloudFiles({ instanceId: 'i', hostname: 'm', user: 'lab', publicKey: 'k' })['user-data']),
    ).not.toHaveProperty('write_files');
  });
});

describe('egress as the CLI shows it', () => {
  it('names the proxy, the lists and what was refused; a torn log line is skipped', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hlab-egress-log-'));
    const log = path.join(dir, 'egress.log');
    writeFileSync(
      log,
      '{"time":"t1","verdict":"allowed","method":"GET","target":"deb.debian.org:80"}\n{"time":"t2","verdict":"refused","method":"GET","target":"10.0.2.2:8080"}\n{"torn',
    );
    const recent = recentEgress(log);
    expect(recent.map((e) => e.verdict)).toEqual(['allowed', 'refused']);
    const text = egressText({
      machine: 'lab1',
      network: 'filtered',
      proxy: 'http://10.0.2.100:3142',
      defaults: ['deb.debian.org:80'],
      allow: [],
      recent,
    });
    expect(text).toContain('lab1: filtered');
    expect(text).toContain('hlab machine egress lab1 allow HOST:PORT');
    expect(text).toContain('t2  GET 10.0.2.2:8080  refused');
    expect(text).not.toContain('t1');
    expect(
      egressText({ machine: 'old', network: 'open', proxy: '', defaults: [], allow: [], recent: [] }),
    ).toMatch(/open NAT networking/);
  });
});
