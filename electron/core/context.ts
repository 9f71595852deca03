/** Everything the handlers share: paths, stores, providers. Built once per process. */
import { MachineJobs } from '../machines/machine-jobs.js';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ApiEvents, EventName } from '../../shared/api.js';
import { ImageStore } from '../images/store.js';
import { parseAccelSetting } from '../providers/qemu/accel.js';
import { QemuProvider } from '../providers/qemu/provider.js';
import { Machines } from '../machines/machines.js';
import { VagrantProvider } from '../providers/vagrant/provider.js';
import { VirtualBoxProvider } from '../providers/virtualbox/provider.js';
import { LibvirtProvider } from '../providers/libvirt/provider.js';
import { freePort } from '../platform/ports.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import { LoginHandover } from '../ssh/handover.js';
import { keeperSocket } from '../ssh/keeper.js';
import { TerminalRegistry } from '../ssh/terminal-registry.js';
import { homePaths } from './paths.js';
import { LABS_DIR } from '../steps/load.js';
import type { DockerBenchCopy } from '../bench/docker-bench-copy.js';
import { dockerBenchCopy } from './settings.js';
import { obtainSsgContent, type SsgContent } from '../bench/ssg-content.js';
import type { Classroom } from '../workshops/class/classroom.js';
import type { TlsMaterial } from '../platform/tls.js';

export interface ClassServer {
  url: string;
  close(): Promise<void>;
}

export type ServeClass = (
  room: Classroom,
  o: { address: string; port: number; tls: TlsMaterial },
) => Promise<ClassServer>;

export interface ServiceContext {
  home: string;
  /** One changing job per machine, across every process of this $HLAB_HOME. */
  jobs: MachineJobs;
  paths: ReturnType<typeof homePaths>;
  /** The step library and recipes: the app's labs/, or HLAB_LABS_DIR (a team's own library). */
  labsDir: string;
  images: ImageStore;
  machines: Machines;
  knownHosts: KnownHosts;
  /** Logins a restore proved, waiting a few seconds for the terminal that opens next. */
  handover: LoginHandover;
  terminals: TerminalRegistry;
  /** The local docker-bench-security copy benches upload (flag > HLAB_DOCKER_BENCH_DIR > setting). */
  dockerBench(flag?: string): DockerBenchCopy | undefined;
  /** SSG content for OpenSCAP benches, cached under the image cache by version. */
  ssgContent(o: { signal?: AbortSignal; log?: (text: string) => void }): Promise<SsgContent>;
  /** Changelogs of candidate .debs for vulns benches, by package and version. */
  changelogCache: string;
  /**
   * Starts a process that keeps the machine's SSH connection for later `machines.exec` calls (set
   * by the CLI, whose processes are short; a long-lived host keeps nothing).
   */
  keepConnection?: (machine: string) => void;
  /** Starts the TLS class server for a class (set by the host that can serve one). */
  serveClass?: ServeClass;
  env: NodeJS.ProcessEnv;
  broadcast<E extends EventName>(name: E, payload: ApiEvents[E]): void;
}

/**
 * The data folder holds keys, journals with command output, VM disks and sockets: only its owner
 * may enter it, whatever the modes of what lies below.
 */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export function createContext(
  home: string,
  env: NodeJS.ProcessEnv,
  broadcast: ServiceContext['broadcast'],
): ServiceContext {
  privateDir(home);
  const paths = homePaths(home);
  // Images are big and built once: HLAB_IMAGE_DIR lets CI and several homes share one cache.
  const imageDir = env.HLAB_IMAGE_DIR ? path.resolve(env.HLAB_IMAGE_DIR) : paths.images;
  const knownHosts = new KnownHosts(paths.knownHosts);
  const handover = new LoginHandover();
  // The one place that registers providers; the first one that creates from our image is the default.
  const providers = [
    new QemuProvider({
      machinesDir: paths.machines,
      cacheDir: imageDir,
      accel: parseAccelSetting(env.HLAB_ACCEL),
    }),
    new VagrantProvider({ storeDir: path.join(home, 'vagrant'), boxDir: imageDir, env }),
    new VirtualBoxProvider({ storeDir: path.join(home, 'virtualbox'), imageDir, env, freePort }),
    new LibvirtProvider({
      dir: path.join(home, 'libvirt'),
      keysDir: paths.keys,
      runDir: path.join(home, 'run'),
      env,
    }),
  ];
  return {
    home,
    jobs: new MachineJobs(path.join(home, 'jobs')),
    paths,
    labsDir: env.HLAB_LABS_DIR ? path.resolve(env.HLAB_LABS_DIR) : LABS_DIR,
    images: new ImageStore(imageDir),
    machines: new Machines({
      providers,
      keysDir: paths.keys,
      knownHosts,
      keeperSocket: (name) => keeperSocket(home, name),
      handover,
    }),
    handover,
    knownHosts,
    terminals: new TerminalRegistry(),
    dockerBench: (flag) => dockerBenchCopy(home, env, flag),
    ssgContent: (o) =>
      obtainSsgContent({
        cacheDir: imageDir,
        ...(env.HLAB_SSG_MIRROR ? { mirror: env.HLAB_SSG_MIRROR } : {}),
        ...(env.HLAB_SSG_SUITE ? { suite: env.HLAB_SSG_SUITE } : {}),
        ...(env.HLAB_SSG_KEYRING ? { keyring: env.HLAB_SSG_KEYRING } : {}),
        ...(env.HLAB_SSG_UNSIGNED === '1' ? { allowUnsigned: true } : {}),
        ...o,
      }),
    changelogCache: path.join(imageDir, 'changelogs'),
    env,
    broadcast,
  };
}
