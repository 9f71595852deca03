/**
 * THE contract between the renderer (or any client) and the main process.
 * Every method and every event is declared here once; the IPC and WebSocket transports and the
 * in-process CLI client are generic over these maps, so adding a method means adding one line
 * here and one handler on the node side.
 */
import type { RunSummary, StampedEvent } from './runs.js';
import type { BenchComparison, BenchResult, BenchTool } from './bench.js';
import type { StepClaim } from './claims.js';
import type { EventDestination, EventDestinationSpec, EventsView } from './events.js';
import type { DoctorReport } from './doctor.js';
import type { SettingKey, SettingsView } from './settings.js';
import type { EvidenceBundle, EvidenceVerdict, TrustedKey } from './evidence.js';
import type { LabIssue, RecipeDef, StepDef } from './steps.js';
import type { ClassInfo, ClassLinks, ClassStartSpec, SeatTile, SeatView } from './class.js';
import type {
  CheckResult,
  ClassRow,
  WorkshopProgress,
  WorkshopStatus,
  WorkshopSummary,
} from './workshops.js';
import type {
  AdoptSpec,
  AppInfo,
  EgressPolicy,
  ExecResult,
  ImageInfo,
  LabHostInfo,
  LabHostSpec,
  MachineInfo,
  MachineSpec,
  Progress,
  ProviderStatus,
  SnapshotInfo,
} from './types.js';

/** `long: true` methods get an operation id, progress events and cancellation. */
interface Method<Req, Res, Long extends boolean = false> {
  req: Req;
  res: Res;
  long: Long;
}

export interface ApiMethods {
  'app.info': Method<Record<string, never>, AppInfo>;
  /** What this host has and lacks for running labs, with the fix for each (the first-run check). */
  'app.doctor': Method<Record<string, never>, DoctorReport>;
  'providers.list': Method<Record<string, never>, ProviderStatus[]>;
  'images.list': Method<Record<string, never>, ImageInfo[]>;
  /** Lab servers (libvirt) machines can be placed on, with what each has now. */
  'hosts.list': Method<Record<string, never>, LabHostInfo[]>;
  /** Registers a lab server: pins its SSH host key and checks libvirt answers there. */
  'hosts.add': Method<LabHostSpec, LabHostInfo, true>;
  /** forget: also forget the machines placed there (their domains stay on the server). */
  'hosts.remove': Method<{ name: string; forget?: boolean }, { removed: string; forgot: string[] }>;
  /** The app's public key for lab servers' authorized_keys. */
  'hosts.key': Method<Record<string, never>, { publicKey: string }>;
  'images.build': Method<{ name?: string; force?: boolean }, ImageInfo, true>;
  'images.pull': Method<{ name?: string; baseUrl?: string }, ImageInfo, true>;
  /** snapshots: also name each machine's snapshots (one more provider call per machine). */
  'machines.list': Method<{ snapshots?: boolean }, MachineInfo[]>;
  'machines.create': Method<MachineSpec, MachineInfo, true>;
  /** Adds a machine the user already has (a Vagrant project, a VirtualBox VM). */
  'machines.add': Method<AdoptSpec, MachineInfo, true>;
  'machines.up': Method<{ name: string }, MachineInfo, true>;
  'machines.down': Method<{ name: string; force?: boolean }, MachineInfo, true>;
  'machines.destroy': Method<{ name: string }, { destroyed: string }>;
  /** What a machine's guest may reach; allow/remove change its own HOST:PORT entries. */
  'machines.egress': Method<{ name: string; allow?: string[]; remove?: string[] }, EgressPolicy>;
  'snapshots.list': Method<{ machine: string }, SnapshotInfo[]>;
  'snapshots.take': Method<{ machine: string; snapshot: string }, SnapshotInfo, true>;
  'snapshots.restore': Method<{ machine: string; snapshot: string }, SnapshotInfo, true>;
  'snapshots.remove': Method<{ machine: string; snapshot: string }, { removed: string }>;
  'terminal.open': Method<{ machine: string; cols: number; rows: number }, { id: string }>;
  'terminal.input': Method<{ id: string; data: string }, Record<string, never>>;
  'terminal.resize': Method<{ id: string; cols: number; rows: number }, Record<string, never>>;
  /** The renderer acknowledges characters it has rendered (flow control). */
  'terminal.ack': Method<{ id: string; chars: number }, Record<string, never>>;
  'terminal.close': Method<{ id: string }, Record<string, never>>;
  /** recipe: an id from labs/recipes or a path; labsDir: another step library. */
  'runs.start': Method<{ recipe: string; machine: string; labsDir?: string }, RunSummary, true>;
  'runs.list': Method<Record<string, never>, RunSummary[]>;
  'runs.get': Method<{ id: string }, { summary: RunSummary; events: StampedEvent[] }>;
  /** Restores an interrupted run's last good snapshot. */
  'runs.recover': Method<{ id: string }, RunSummary, true>;
  /** Runs a bench on a machine now; the result is also kept under the home's bench/ folder. */
  'bench.run': Method<
    {
      machine: string;
      tool: BenchTool;
      tests?: string[];
      dockerBenchDir?: string;
      /** openscap: a shipped SSG profile (standard, anssi_bp28_minimal) instead of the claimed rules. */
      profile?: string;
    },
    BenchResult,
    true
  >;
  /** Reads new login events from the machine's journal, keeps them, and forwards them to every SIEM destination. */
  'events.collect': Method<{ machine: string }, EventsView, true>;
  /** The login events kept for a machine (newest last), and each destination's backlog. */
  'events.list': Method<{ machine: string; limit?: number }, EventsView>;
  /** SIEM destinations (tokens are never returned). */
  'events.destinations': Method<Record<string, never>, EventDestination[]>;
  /** Adds a SIEM destination. CLI only: the HEC token comes from a file or the environment. */
  'events.forward.add': Method<EventDestinationSpec, EventDestination>;
  'events.forward.remove': Method<{ id: string }, { removed: string }>;
  /** Installation settings, and where docker-bench-security would come from now. */
  'settings.get': Method<Record<string, never>, SettingsView>;
  /** Sets (or, without a value, clears) one setting. CLI only: the settings name host folders. */
  'settings.set': Method<{ key: SettingKey; value?: string }, SettingsView>;
  'bench.list': Method<{ machine?: string }, BenchResult[]>;
  /** A run's benches before the first and after the last step, and what flipped. */
  'runs.bench': Method<
    { id: string },
    { before: BenchResult[]; after: BenchResult[]; comparisons: BenchComparison[]; claims: StepClaim[] }
  >;
  'steps.list': Method<{ labsDir?: string }, { steps: StepDef[]; recipes: RecipeDef[]; issues: LabIssue[] }>;
  /** Validates a recipe given as YAML text (the recipe builder) and optionally saves it to $HLAB_HOME/recipes. */
  'recipes.save': Method<
    { yaml: string; save?: boolean; labsDir?: string },
    { recipe?: RecipeDef; issues: LabIssue[]; file?: string }
  >;
  'recipes.export': Method<
    { runId: string; format: 'sh' | 'ansible' | 'cloud-init' | 'html' | 'evidence' },
    { content: string; filename: string }
  >;
  'recipes.verify': Method<{ file: string }, EvidenceVerdict & { runId: string; recipe: string }>;
  /** Evidence keys trusted here: this installation's own and imported ones. */
  'keys.list': Method<Record<string, never>, TrustedKey[]>;
  'keys.export': Method<Record<string, never>, { publicKey: string; fingerprint: string }>;
  'keys.trust': Method<{ pem: string; name: string }, TrustedKey>;
  /** Replays an evidence bundle on a fresh machine from the same base and compares. */
  'recipes.validate': Method<
    { evidence: string; machine: string },
    { runId: string; match: boolean; differences: string[]; evidence: EvidenceBundle },
    true
  >;
  /** fresh: a new SSH login even when a kept connection exists (proves login still works). */
  'machines.exec': Method<
    { machine: string; command: string; timeoutMs?: number; fresh?: boolean },
    ExecResult,
    true
  >;
  /** Workshops that can be started, and every trainee session on this installation. */
  'workshops.list': Method<
    Record<string, never>,
    { workshops: WorkshopSummary[]; issues: LabIssue[]; sessions: WorkshopProgress[] }
  >;
  /** Creates the trainee's machine, runs setup, snapshots the first challenge's start; resumes if it exists. */
  'workshops.start': Method<{ workshop: string; trainee?: string; machine?: string }, WorkshopStatus, true>;
  'workshops.status': Method<{ machine: string }, WorkshopStatus>;
  'workshops.check': Method<{ machine: string }, CheckResult, true>;
  /** Reveals the next hint of the current challenge. */
  'workshops.hint': Method<{ machine: string }, WorkshopStatus>;
  /** Restores the current challenge's start snapshot. */
  'workshops.reset': Method<{ machine: string }, WorkshopStatus, true>;
  'workshops.solve': Method<{ machine: string }, CheckResult, true>;
  /** Ends a session: its machine is destroyed and its progress forgotten (export it first). */
  'workshops.end': Method<{ machine: string }, { ended: string }>;
  'workshops.export': Method<
    { machine: string; format: 'json' | 'html' },
    { content: string; filename: string }
  >;
  /** Merges trainees' JSON exports (their text) into one class table. */
  'workshops.class': Method<
    { exports: Array<{ name: string; text: string }> },
    { rows: ClassRow[]; html: string }
  >;
  'workshops.pack': Method<{ workshop: string }, { content: string; filename: string }>;
  'workshops.import': Method<{ archive: string; name?: string; replace?: boolean }, WorkshopSummary>;

  // A class: the trainer's side (the app, the CLI, or the trainer's link on the class server).
  /** Makes the seats, starts the TLS class server, and hands back the links (once) and seat cards. */
  'class.start': Method<ClassStartSpec, { info: ClassInfo; links: ClassLinks; cardsHtml: string }, true>;
  'class.status': Method<Record<string, never>, ClassInfo>;
  /** Ends the class: links die, seats' machines are destroyed; the final table stays in the class folder. */
  'class.end': Method<Record<string, never>, { ended: string; seats: number }>;
  'class.resetSeat': Method<{ seat: string }, SeatTile, true>;
  /** A new link for a seat (the old one and its sessions stop working), with its card. */
  'class.newLink': Method<{ seat: string }, { seat: string; url: string; cardsHtml: string }>;
  'class.revoke': Method<{ seat: string }, SeatTile>;
  /** Attaches to a seat's terminal read-only; output arrives as terminal.data with the id. */
  'class.watch': Method<{ seat: string; cols: number; rows: number }, { id: string }>;
  'class.unwatch': Method<{ seat: string }, Record<string, never>>;
  /** on: the trainer types into the seat's terminal and the trainee sees a notice; off: hands back. */
  'class.takeover': Method<{ seat: string; on: boolean }, SeatTile>;
  'class.input': Method<{ seat: string; data: string }, Record<string, never>>;
  'class.export': Method<Record<string, never>, { rows: ClassRow[]; html: string }>;

  // A trainee's page on the class server: every method acts on the session's own seat.
  'seat.whoami': Method<Record<string, never>, SeatView>;
  'seat.status': Method<Record<string, never>, WorkshopStatus>;
  'seat.check': Method<Record<string, never>, CheckResult, true>;
  'seat.hint': Method<Record<string, never>, WorkshopStatus>;
  'seat.reset': Method<Record<string, never>, WorkshopStatus, true>;
  'seat.solve': Method<Record<string, never>, CheckResult, true>;
  'seat.terminal': Method<{ cols: number; rows: number }, { id: string }>;
  'seat.input': Method<{ data: string }, Record<string, never>>;
  'seat.resize': Method<{ cols: number; rows: number }, Record<string, never>>;
  'seat.ack': Method<{ chars: number }, Record<string, never>>;
}

export type MethodName = keyof ApiMethods;
export type ReqOf<M extends MethodName> = ApiMethods[M]['req'];
export type ResOf<M extends MethodName> = ApiMethods[M]['res'];
export type LongMethodName = {
  [K in MethodName]: ApiMethods[K]['long'] extends true ? K : never;
}[MethodName];

export type LogStream = 'stdout' | 'stderr' | 'info';

export interface ApiEvents {
  'op.progress': { opId: string; progress: Progress };
  'op.log': { opId: string; stream: LogStream; text: string };
  'machines.changed': { name: string };
  'images.changed': { name: string };
  'terminal.data': { id: string; data: string };
  'terminal.exit': { id: string; reason: string };
  'runs.event': { runId: string; event: StampedEvent };
  'workshops.changed': { machine: string };
  /** The class's dashboard changed (a seat's state, progress, viewers). */
  'class.changed': { info: ClassInfo };
  /** To a trainee: the trainer took over, handed back, or reset the seat. */
  'seat.notice': { text: string; takenOver: boolean; kind: 'take-over' | 'hand-back' | 'reset' };
}

export type EventName = keyof ApiEvents;

/** The workshop methods: all of them are for the UI too (texts in, texts out; no host paths). */
const WORKSHOP_METHODS = [
  'workshops.list',
  'workshops.start',
  'workshops.status',
  'workshops.check',
  'workshops.hint',
  'workshops.reset',
  'workshops.solve',
  'workshops.end',
  'workshops.export',
  'workshops.class',
  'workshops.pack',
  'workshops.import',
] as const satisfies readonly MethodName[];

/** What a trainer's link may call on the class server (starting a class is for the app and CLI). */
export const TRAINER_METHODS = [
  'class.status',
  'class.end',
  'class.resetSeat',
  'class.newLink',
  'class.revoke',
  'class.watch',
  'class.unwatch',
  'class.takeover',
  'class.input',
  'class.export',
] as const satisfies readonly MethodName[];

/** What a seat link may call: nothing that names a machine, a path or another seat. */
export const SEAT_METHODS = [
  'seat.whoami',
  'seat.status',
  'seat.check',
  'seat.hint',
  'seat.reset',
  'seat.solve',
  'seat.terminal',
  'seat.input',
  'seat.resize',
  'seat.ack',
] as const satisfies readonly MethodName[];

/** Runtime list of the methods, for transports that validate names before dispatching. */
export const METHOD_NAMES = [
  'app.info',
  'app.doctor',
  'providers.list',
  'images.list',
  'images.build',
  'images.pull',
  'hosts.list',
  'hosts.add',
  'hosts.remove',
  'hosts.key',
  'machines.list',
  'machines.create',
  'machines.add',
  'machines.up',
  'machines.down',
  'machines.destroy',
  'machines.egress',
  'snapshots.list',
  'snapshots.take',
  'snapshots.restore',
  'snapshots.remove',
  'machines.exec',
  'terminal.open',
  'terminal.input',
  'terminal.resize',
  'terminal.ack',
  'terminal.close',
  'runs.start',
  'runs.list',
  'runs.get',
  'runs.recover',
  'runs.bench',
  'bench.run',
  'bench.list',
  'steps.list',
  'recipes.save',
  'recipes.export',
  'recipes.verify',
  'keys.list',
  'keys.export',
  'keys.trust',
  'recipes.validate',
  'settings.get',
  'settings.set',
  'events.collect',
  'events.list',
  'events.destinations',
  'events.forward.add',
  'events.forward.remove',
  ...WORKSHOP_METHODS,
  'class.start',
  ...TRAINER_METHODS,
  ...SEAT_METHODS,
] as const satisfies readonly MethodName[];

// Compile-time check that METHOD_NAMES lists every method.
type Missing = Exclude<MethodName, (typeof METHOD_NAMES)[number]>;
const _allListed: Missing extends never ? true : Missing = true;
void _allListed;

/**
 * The methods the UI uses: all the Electron preload and the web host's WebSocket expose. The
 * others (host paths, evidence files, key trust, raw exec) are for the in-process CLI.
 */
export const UI_METHODS: ReadonlySet<MethodName> = new Set<MethodName>([
  'app.info',
  'app.doctor',
  'providers.list',
  'images.list',
  'images.build',
  'hosts.list',
  'hosts.add',
  'hosts.remove',
  'hosts.key',
  'machines.list',
  'machines.create',
  'machines.add',
  'machines.up',
  'machines.down',
  'machines.destroy',
  'snapshots.list',
  'snapshots.take',
  'snapshots.restore',
  'snapshots.remove',
  'terminal.open',
  'terminal.input',
  'terminal.resize',
  'terminal.ack',
  'terminal.close',
  'runs.start',
  'runs.list',
  'runs.get',
  'runs.recover',
  'runs.bench',
  'bench.run',
  'bench.list',
  'steps.list',
  'recipes.save',
  'recipes.export',
  'settings.get',
  'events.collect',
  'events.list',
  'events.destinations',
  ...WORKSHOP_METHODS,
  'class.start',
  ...TRAINER_METHODS,
]);
