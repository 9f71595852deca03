/** `hlab ssh NAME`: the app's terminal API driven from the user's own terminal (raw mode, resize, acks). */
import { HlabError } from '../../../shared/errors.js';
import type { ApiClient } from '../../../shared/rpc.js';

export async function interactiveShell(client: ApiClient, machine: string): Promise<number> {
  const { stdin, stdout } = process;
  const size = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  let id = '';
  const early: string[] = [];
  const offData = client.on('terminal.data', (e) => {
    if (!id) return void early.push(e.data);
    if (e.id === id)
      stdout.write(e.data, () => void client.call('terminal.ack', { id, chars: e.data.length }));
  });
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const offExit = client.on('terminal.exit', (e) => {
    if (e.id !== id) return;
    if (e.reason !== 'the shell exited') process.stderr.write(`\r\nhlab: ${e.reason}\r\n`);
    finish(e.reason === 'the shell exited' ? 0 : 2);
  });
  const r = await client.call('terminal.open', { machine, ...size() });
  if (!r.ok) {
    offData();
    offExit();
    throw new HlabError(r.error.code, r.error.message, r.error.details);
  }
  id = r.value.id;
  for (const d of early) stdout.write(d);
  const onInput = (d: Buffer) => void client.call('terminal.input', { id, data: d.toString('utf8') });
  const onResize = () => void client.call('terminal.resize', { id, ...size() });
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  stdout.on('resize', onResize);
  try {
    return await done;
  } finally {
    stdin.off('data', onInput);
    stdout.off('resize', onResize);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    offData();
    offExit();
  }
}
