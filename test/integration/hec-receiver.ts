/**
 * A small Splunk HTTP Event Collector on 127.0.0.1 for tests (no HEC receiver is packaged for
 * Debian). It accepts what Splunk's HEC accepts and its own client library sends: /services/collector/event
 * and /event/1.0, `Authorization: Splunk TOKEN`, several JSON objects one after another in a body,
 * JSON or form-urlencoded content type, `time` as a number or a string. Answers like Splunk.
 */
import http from 'node:http';

export interface HecReceived {
  time: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  event: unknown;
  contentType: string;
}

/** Splits concatenated JSON objects (not an array), as HEC does. */
export function splitObjects(body: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (c === '}') {
      depth -= 1;
      if (depth === 0) out.push(JSON.parse(body.slice(start, i + 1)));
      if (depth < 0) throw new Error('unbalanced');
    } else if (depth === 0 && !/\s/.test(c as string)) throw new Error(`stray ${c}`);
  }
  if (depth !== 0) throw new Error('truncated');
  return out;
}

export async function startHec(token: string, port = 0) {
  const received: HecReceived[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: object) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!/^\/services\/collector\/event(\/1\.0)?$/.test(req.url ?? ''))
        return answer(404, { text: 'Not found', code: 404 });
      if (req.headers.authorization !== `Splunk ${token}`)
        return answer(401, { text: 'Invalid token', code: 4 });
      let objects: unknown[];
      try {
        objects = splitObjects(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(400, { text: 'Invalid data format', code: 6 });
      }
      for (const [n, o] of objects.entries()) {
        const e = o as Record<string, unknown>;
        if (e.event === undefined || e.event === '')
          return answer(400, { text: 'Event field is required', code: 12, 'invalid-event-number': n });
        const time = typeof e.time === 'string' ? Number(e.time) : (e.time as number | undefined);
        received.push({
          time: time ?? Date.now() / 1000,
          ...(typeof e.host === 'string' ? { host: e.host } : {}),
          ...(typeof e.source === 'string' ? { source: e.source } : {}),
          ...(typeof e.sourcetype === 'string' ? { sourcetype: e.sourcetype } : {}),
          ...(typeof e.index === 'string' ? { index: e.index } : {}),
          event: e.event,
          contentType: String(req.headers['content-type'] ?? ''),
        });
      }
      answer(200, { text: 'Success', code: 0 });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
