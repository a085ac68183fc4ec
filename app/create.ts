import { publishers } from '../publishers/registry.js';
import { stagedImageDigest } from '../publishers/docker-tags.js';
import type { App } from '../src/app.js';
import { AuditLog, type AuditLogOptions } from '../src/audit/log.js';
import type { Logger } from 'pino';
import { ConjurClient } from '../src/conjur/client.js';
import { measuredConjur } from '../src/conjur/measured.js';
import { EventBus } from '../src/events.js';
import type { Conjur } from '../src/conjur/types.js';
import type { Config } from '../src/config/load.js';
import { createLogger, type LogFormat } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { Redactor } from '../src/redact.js';
import { Approvals } from '../src/release/approvals.js';
import { ReleaseCore, type CoreDeps } from '../src/release/core.js';
import { Denials } from '../src/release/denials.js';
import { Freezes } from '../src/release/freeze.js';
import { currentProcess } from '../src/release/owner.js';
import { projectStatus } from '../src/release/status.js';
import { YankService } from '../src/release/yank.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { Releases } from '../src/store/releases.js';
import { StagedBuilds } from '../src/store/staged-builds.js';
import { Yanks } from '../src/store/yanks.js';
import { inspectDigest } from '../src/staging/skopeo.js';
import { loadAppConfig } from './config.js';
import { databaseHealth, forwardingBacklog } from './store-health.js';

export type { App } from '../src/app.js';
export { loadAppConfig } from './config.js';

/**
 * The wiring of the core: configuration (validated with every destination type's options), the
 * store, Conjur and the release core with its publishers. Handlers are mounted by `app/serve.ts`.
 */
export interface CreateAppOptions {
  env?: NodeJS.ProcessEnv;
  redactor?: Redactor;
  /** Where logs go; the CLI sends them to stderr so that stdout stays its answer. */
  logDestination?: NodeJS.WritableStream;
  /** `human` for a CLI command's terminal, unless LOG_FORMAT=json (or --log-format json) asks for JSON; serve leaves it: JSON. */
  logFormat?: LogFormat;
  conjur?: Conjur;
  retryBaseMs?: number;
  /** Builds the release core from its dependencies (serve's runs releases in a worker thread, see release-thread.ts). */
  core?: (deps: CoreDeps) => ReleaseCore;
  /** serve and its release thread: how the audit log counts the thread's appends on their way to the serving thread. */
  audit?: Omit<AuditLogOptions, 'bus'>;
}

/**
 * The App as the wiring (app/) holds it: with the database it was built on, for the store's readers
 * the wiring builds (the webhook's used tokens and reports, metrics, forwarding, readiness). A handler
 * gets the App, which has no database: it asks `storeOpen()` and the like.
 */
export interface WiredApp extends App {
  db: Db;
}

export function createApp(options: CreateAppOptions = {}): App {
  return createAppWiring(options).app;
}

/**
 * The app, and beside it the audit log it was built on, for the wiring of `serve` alone (the policy
 * reloader audits reloads): what handlers get, the App, has only read-only views of it.
 */
export function createAppWiring(options: CreateAppOptions = {}): { app: WiredApp; audit: AuditLog } {
  const redactor = options.redactor ?? new Redactor();
  const config = loadAppConfig(options.env ?? process.env, redactor);
  const format: LogFormat = options.logFormat === 'human' && config.env.LOG_FORMAT !== 'json' ? 'human' : 'json';
  const log = createLogger({
    level: config.env.LOG_LEVEL,
    redactor,
    format,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const metrics = new Metrics();
  const rawConjur = options.conjur ?? conjurClient(config, redactor, log);
  const conjur = measuredConjur(rawConjur, metrics);
  const db = openDatabase(config.dataDir);
  // The one event bus: the core, the approvals, the audit log and the reloader emit on it; the chat side and the forwarders listen.
  const bus = new EventBus();
  const audit = new AuditLog(db, redactor, undefined, { ...options.audit, bus });
  // The repositories the core writes, kept by it; the services get the append and read-only views, handlers read-only views.
  const staged = new StagedBuilds(db);
  const releases = new Releases(db, undefined, currentProcess());
  const coreDeps: CoreDeps = {
    events: bus,
    audit,
    staged,
    releases,
    config,
    db,
    conjur,
    publishers,
    redactor,
    log,
    inspectImage: (ref, tlsVerify) => inspectDigest(ref, { tlsVerify, redact: (t) => redactor.redact(t) }),
    recheckImage: (ref, tlsVerify) => stagedImageDigest(ref, { tlsVerify, redact: (t) => redactor.redact(t) }),
    maxConcurrentReleases: config.env.RELEASE_BOT_MAX_CONCURRENT_RELEASES,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  };
  const core = options.core ? options.core(coreDeps) : new ReleaseCore(coreDeps);
  // The yanks' repository, kept by the yank service; ways in get its read-only view.
  const yankRecords = new Yanks(db, () => new Date(), currentProcess());
  const yanks = new YankService({
    core,
    audit,
    releases,
    db,
    yanks: yankRecords,
    conjur,
    publishers,
    redactor,
    log,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  });
  const app = assembleApp({ core, yanks, yankRecords, audit, staged, releases, bus, conjur, db, log, redactor, metrics });
  return { app, audit };
}

/** The hand-written Conjur client, as the environment configures it. */
function conjurClient(config: Config, redactor: Redactor, log: Logger): ConjurClient {
  return new ConjurClient({
    applianceUrl: config.env.CONJUR_APPLIANCE_URL,
    account: config.env.CONJUR_ACCOUNT,
    login: config.env.CONJUR_AUTHN_LOGIN,
    ...(config.env.CONJUR_AUTHN_API_KEY ? { apiKey: config.env.CONJUR_AUTHN_API_KEY } : {}),
    ...(config.env.CONJUR_AUTHN_TOKEN_FILE ? { tokenFile: config.env.CONJUR_AUTHN_TOKEN_FILE } : {}),
    ...(config.env.CONJUR_CERT_FILE ? { certFile: config.env.CONJUR_CERT_FILE } : {}),
    ...(config.env.CONJUR_SSL_CERTIFICATE ? { sslCertificate: config.env.CONJUR_SSL_CERTIFICATE } : {}),
    redactor,
    log: log.child({ component: 'conjur' }),
  });
}

/** What the wiring built, from which the App is assembled. */
interface AppParts extends Pick<WiredApp, 'core' | 'yanks' | 'bus' | 'conjur' | 'db' | 'log' | 'redactor' | 'metrics'> {
  yankRecords: Yanks;
  audit: AuditLog;
  staged: StagedBuilds;
  releases: Releases;
}

/** The App handlers get (read-only views, no database) with the database the wiring keeps. */
function assembleApp({ core, yanks, yankRecords, audit, staged, releases, bus, conjur, db, log, redactor, metrics }: AppParts): WiredApp {
  return {
    // The core holds the policy in force (serve reloads it): every reader sees the current one.
    get config() {
      return core.config;
    },
    core,
    yanks,
    yankRecords,
    denials: new Denials({ audit, core }),
    audit,
    staged,
    releases,
    projectStatus: (project, version) =>
      projectStatus({ project: (name) => core.project(name), staged, releases }, { yanks: yankRecords }, project, version),
    approvalServices: ({ log: serviceLog, now }) => {
      const freezes = new Freezes(core, audit, db, now);
      const approvals = new Approvals(core, db, { audit, staged, releases, freezes, log: serviceLog, yanks, bus, ...(now ? { now } : {}) });
      return { freezes, approvals };
    },
    bus,
    conjur,
    db,
    storeOpen: () => db.open,
    databaseHealth: () => databaseHealth(db),
    forwardingBacklog: () => forwardingBacklog(db),
    log,
    redactor,
    metrics,
    close: () => db.close(),
  };
}
