/** The vulns bench as plain lines: the CLI prints them, the report and the UI reuse the wording. */
import { VULNS_BASIS, type VulnKernel, type VulnReport } from './bench.js';

export function kernelLine(k: VulnKernel | undefined): string {
  // Bundles from elsewhere are read too: nothing here may assume the shape.
  if (!k || typeof k !== 'object') return 'kernel: not measured';
  if (!k.running) return `kernel ${k.release}: ${k.note ?? 'not a Debian kernel'}`;
  const newest = k.newest ? `newest ${k.newest.package} ${k.newest.version}` : 'no newer image offered';
  const reboot = k.rebootPending ? `; ${k.rebootPending} is installed but not booted` : '';
  const n = Array.isArray(k.cves) ? k.cves.length : 0;
  return `kernel ${k.release}: running ${k.running}, ${newest}, ${n} CVEs fixed in between${reboot}`;
}

export function vulnsLines(v: VulnReport, o: { ids?: number } = {}): string[] {
  const shown = o.ids ?? 6;
  const ids = (l: string[]) =>
    l.length ? `  ${l.slice(0, shown).join(' ')}${l.length > shown ? ' …' : ''}` : '';
  return [
    `${v.distinct} fixable CVEs. ${VULNS_BASIS}`,
    `${kernelLine(v.kernel)}${ids(v.kernel.cves)}`,
    `packages behind: ${v.packages.reduce((n, p) => n + p.binaries.length, 0)} (${v.packages.length} source packages)`,
    ...v.packages.map(
      (p) =>
        `  ${p.source} ${p.installed} → ${p.candidate}: ${p.note ?? `${p.cves.length} CVEs`}${ids(p.cves)}`,
    ),
  ];
}
