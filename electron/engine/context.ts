/** What the engine, recovery and replay need from the service: a narrow view, so they never reach up into core. */
import type { Machines } from '../machines/machines.js';
import type { KnownHosts } from '../ssh/known-hosts.js';
import type { TerminalRegistry } from '../ssh/terminal-registry.js';
import type { DockerBenchCopy } from '../bench/docker-bench-copy.js';
import type { SsgContent } from '../bench/ssg-content.js';

export interface EngineContext {
  /** Holds this installation's signing key (evidence). */
  home: string;
  paths: { runs: string };
  machines: Machines;
  knownHosts: KnownHosts;
  terminals: TerminalRegistry;
  /** The local docker-bench-security copy a recipe's docker-bench runs upload, if one is set. */
  dockerBench?: () => DockerBenchCopy | undefined;
  /** The cached SSG content OpenSCAP benches evaluate (fetched from the Debian mirror once per version). */
  ssgContent?: (o: { signal?: AbortSignal; log?: (text: string) => void }) => Promise<SsgContent>;
  /** Where vulns benches keep candidate changelogs (under the image cache). */
  changelogCache?: string;
}
