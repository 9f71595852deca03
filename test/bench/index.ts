/** `npm run bench -- <target>`: performance figures, measured for real (never asserted in tests). */
const targets: Record<string, () => Promise<void>> = {
  vm: async () => (await import('./vm.js')).benchVm(process.argv.slice(3)),
  terminal: async () => (await import('./terminal.js')).benchTerminal(),
  rollback: async () => (await import('./rollback.js')).benchRollback(process.argv.slice(3)),
  cli: async () => (await import('./cli.js')).benchCli(process.argv.slice(3)),
  egress: async () => (await import('./egress.js')).benchEgress(process.argv.slice(3)),
  class: async () => (await import('./class.js')).benchClass(process.argv.slice(3)),
  reset: async () => (await import('./reset.js')).benchReset(process.argv.slice(3)),
};

const target = process.argv[2];
if (!target || !targets[target]) {
  console.error(`usage: npm run bench -- <${Object.keys(targets).join('|')}> [options]`);
  process.exit(2);
}
await targets[target]!();
