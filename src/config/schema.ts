import { zm as z, type NumberCheck } from './zod.js';
import { PROJECT_NAME } from '../validate.js';

/** An environment variable name a destination's credential is handed to its publisher under. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** A Conjur variable id (`release/downloads/token`); never a value. */
const CONJUR_ID = /^[A-Za-z0-9_][A-Za-z0-9_./@-]*$/;

const DESTINATION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SLACK_TEAM_ID = /^T[A-Z0-9]{2,20}$/;
const SLACK_ENTERPRISE_ID = /^E[A-Z0-9]{2,20}$/;
/** A DNS name in ASCII: labels of letters, digits and inner hyphens, at least two of them. */
const EMAIL_DOMAIN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * zod's mini API (issue 14: CLI start-up): these schemas are built by every command that reads the
 * configuration, and a classic zod schema costs several times a mini one to build; the checks and their
 * messages are zod's same ones.
 */
const nonEmpty = () => z.string().check(z.minLength(1));
const regexString = (re: RegExp, message?: string) => z.string().check(z.regex(re, message));
const int = (...checks: NumberCheck[]) => z.number().check(z.int(), ...checks);

const destinationBaseShape = {
  name: regexString(DESTINATION_NAME, 'use letters, digits, ".", "_" and "-"'),
  type: nonEmpty(),
  /** env var name -> Conjur variable id */
  credentials: z._default(
    z.record(
      regexString(ENV_NAME, 'credential names are environment variable names: A-Z, 0-9 and _, e.g. NPM_TOKEN'),
      regexString(CONJUR_ID, 'a Conjur variable id such as release/npm/token'),
    ),
    {},
  ),
  timeout_seconds: z._default(int(z.positive(), z.lte(6 * 3600)), 900),
  retries: z._default(int(z.gte(0), z.lte(10)), 2),
  /**
   * Destinations of the same project that must have succeeded (published or already present) before
   * this one starts, e.g. a heroku build whose source_url is served by the ssh upload to the download host.
   */
  after: z._default(z.array(regexString(DESTINATION_NAME, 'destination names: letters, digits, ".", "_" and "-"')), []),
};
export const destinationBaseSchema = z.object(destinationBaseShape);
export type DestinationBase = z.infer<typeof destinationBaseSchema>;

/**
 * Signed provenance (issue 16): the Conjur variable holding the Ed25519 signing key (PKCS#8 PEM), and
 * the destination (of the project being released, type directory or ssh) that keeps the attestations
 * of destinations that cannot carry one (npm, rubygems). A project's own section overrides the file's.
 */
export const provenanceSchema = z.strictObject({
  signing_key: z.optional(regexString(CONJUR_ID, 'a Conjur variable id such as release/provenance/signing-key')),
  store: z.optional(regexString(DESTINATION_NAME, 'the name of a directory or ssh destination of the project')),
});
export type ProvenanceInput = z.infer<typeof provenanceSchema>;

export const projectSchema = z.strictObject({
  authorized_group: regexString(CONJUR_ID, 'a Conjur group id such as release/conjur-cli'),
  jenkins_job: nonEmpty(),
  artifact: z.enum(['files', 'docker']),
  channel: z.optional(nonEmpty()),
  /** Build parameter holding the version in Jenkins Notification plugin reports. */
  version_parameter: z._default(
    regexString(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Jenkins build parameter name: letters, digits and _, e.g. version_parameter: VERSION'),
    'VERSION',
  ),
  /** sha256 (hex) of the per-project token in `POST /webhooks/jenkins/<token>`; the token itself is never stored. */
  notification_token_sha256: z.optional(regexString(/^[0-9a-f]{64}$/, 'the sha256 hex digest of the token')),
  /** For docker projects: where Jenkins pushes the image on the local registry. */
  image: z.optional(z.strictObject({ repository: nonEmpty(), tls_verify: z._default(z.boolean(), true) })),
  approvals: z._default(int(z.gte(0), z.lte(10)), 0),
  approver_group: z.optional(regexString(CONJUR_ID)),
  approval_ttl_seconds: z._default(int(z.positive()), 3600),
  /** Conjur group whose members may yank a released version (`/release yank`); default: authorized_group. */
  yank_group: z.optional(regexString(CONJUR_ID, 'a Conjur group id such as release/conjur-cli-yank')),
  /** How many destinations of one release run at once. */
  concurrency: z._default(int(z.gte(1), z.lte(32)), 4),
  destinations: z.array(z.looseObject(destinationBaseShape)).check(z.minLength(1, 'a project needs at least one destination')),
  provenance: z.optional(provenanceSchema),
});
export type ProjectConfigInput = z.infer<typeof projectSchema>;

/** Bounds on what one build report can make the bot do, and how long quarantined copies are kept. */
export const stagingSchema = z.strictObject({
  max_files: z._default(int(z.gte(1), z.lte(100_000)), 1000),
  max_depth: z._default(int(z.gte(1), z.lte(64)), 16),
  max_path_bytes: z._default(int(z.gte(16), z.lte(4096)), 255),
  /** 0: no limit. */
  max_total_bytes: z._default(int(z.gte(0)), 0),
  /** Free bytes a quarantine copy must leave on the data directory's filesystem. */
  min_free_bytes: z._default(int(z.gte(0)), 1 << 30),
  /** `release-bot gc` removes quarantined builds released or superseded longer ago than this. */
  retention_days: z._default(int(z.gte(0), z.lte(3650)), 30),
});
export type StagingInput = z.infer<typeof stagingSchema>;

export const projectsFileSchema = z.strictObject({
  channel: nonEmpty(),
  staging_dir: nonEmpty(),
  staging: z.prefault(stagingSchema, {}),
  identity: z.strictObject({
    strategy: z.enum(['email-localpart', 'map']),
    map: z._default(z.record(z.string(), nonEmpty()), {}),
    /** The home workspace; learnt from Slack's auth.test at start when absent. */
    team_id: z.optional(regexString(SLACK_TEAM_ID, 'a Slack workspace id such as T024BE7LD')),
    /** The home Enterprise Grid organisation; learnt from auth.test when absent (and team_id too). */
    enterprise_id: z.optional(regexString(SLACK_ENTERPRISE_ID, 'a Slack Enterprise Grid id such as E0AKF5D7N')),
    /** Whether guests (single- and multi-channel) of the home workspace may be identified at all. */
    allow_guests: z._default(z.boolean(), false),
    /** email-localpart: the only domains whose addresses map to a Conjur login (exact match, no subdomains). */
    email_domains: z.optional(
      z
        .array(
          z.pipe(
            regexString(
              EMAIL_DOMAIN,
              'a domain name such as example.com (an IDN in its xn-- form; no @, no wildcard: list each subdomain you mean)',
            ),
            z.transform((d: string) => d.toLowerCase()),
          ),
        )
        .check(z.minLength(1, 'list at least one domain, e.g. [example.com]')),
    ),
  }),
  /** Conjur group whose members may read `/release audit` in Slack; when absent, any identified person may. */
  audit_group: z.optional(regexString(CONJUR_ID, 'a Conjur group id such as release/auditors')),
  provenance: z.optional(provenanceSchema),
  projects: z.record(
    regexString(PROJECT_NAME, "project names are lower-case letters, digits, '.', '_' and '-' (e.g. conjur-cli)"),
    projectSchema,
  ),
});
export type ProjectsFileInput = z.infer<typeof projectsFileSchema>;

const port = z.coerce.number().check(z.int(), z.gte(0), z.lte(65535));
const optionalString = z.optional(nonEmpty());
const optionalUrl = z.optional(z.string().check(z.url()));

/** Every environment variable the bot reads; `.env.example` documents each one. */
export const envSchema = z.object({
  CONJUR_APPLIANCE_URL: z.string().check(z.url('a URL such as https://conjur.example.com')),
  CONJUR_ACCOUNT: nonEmpty(),
  CONJUR_AUTHN_LOGIN: nonEmpty(),
  CONJUR_AUTHN_API_KEY: optionalString,
  CONJUR_AUTHN_TOKEN_FILE: optionalString,
  CONJUR_CERT_FILE: optionalString,
  CONJUR_SSL_CERTIFICATE: optionalString,
  RELEASE_BOT_CONFIG: z._default(nonEmpty(), './releases.yml'),
  RELEASE_BOT_DATA_DIR: z._default(nonEmpty(), './data'),
  RELEASE_BOT_MODE: z._default(z.enum(['production', 'demo']), 'production'),
  PORT: z._default(port, 3000),
  HOST: z._default(nonEmpty(), '127.0.0.1'),
  RELEASE_BOT_MAX_CONCURRENT_RELEASES: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(64)), 4),
  LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  /** CLI commands: `json` for pino lines on stderr instead of plain ones (serve always logs JSON). */
  LOG_FORMAT: z.optional(z.enum(['json', 'human'])),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: optionalUrl,
  JENKINS_JWT_SECRET: optionalString,
  JENKINS_JWT_PUBLIC_KEY: optionalString,
  JENKINS_JWKS_URL: optionalUrl,
  JENKINS_JWT_AUDIENCE: z._default(nonEmpty(), 'release-bot'),
  JENKINS_JWT_ISSUER: optionalString,
  JENKINS_WEBHOOK_SECRET: optionalString,
  AUDIT_SYSLOG_URL: z.optional(regexString(/^(udp|tcp):\/\/[^/]+:\d+$/, 'udp://host:port or tcp://host:port')),
  AUDIT_JSONL_FILE: optionalString,
});
export type EnvInput = z.infer<typeof envSchema>;

/** Environment variables whose values are secrets: registered for redaction at load. */
export const SECRET_ENV = [
  'CONJUR_AUTHN_API_KEY',
  'SLACK_SIGNING_SECRET',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'JENKINS_JWT_SECRET',
  'JENKINS_WEBHOOK_SECRET',
] as const;
