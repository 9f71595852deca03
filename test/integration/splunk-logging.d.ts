/** The part of Splunk's splunk-logging 0.11 (no types shipped) the HEC receiver test uses. */
declare module 'splunk-logging' {
  export class Logger {
    constructor(config: { token: string; url: string });
    send(
      payload: { message: unknown; metadata?: Record<string, string> },
      callback: (err: unknown, resp: unknown, body: unknown) => void,
    ): void;
  }
}
