import { z } from './zod.js';
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

export const destinationBaseSchema = z.object({
  name: z.string().regex(DESTINATION_NAME, 'use letters, digits, ".", "_" and "-"'),
  type: z.string().min(1),
  /** env var name -> Conjur variable id */
  credentials: z
    .record(
      z.string().regex(ENV_NAME, 'credential names are environment variable names: A-Z, 0-9 and _, e.g. NPM_TOKEN'),
      z.string().regex(CONJUR_ID, 'a Conjur variable id such as release/npm/token'),
    )
    .default({}),
  timeout_seconds: z
    .number()
    .int()
    .positive()
    .max(6 * 3600)
    .default(900),
  retries: z.number().int().min(0).max(10).default(2),
  /**
   * Destinations of the same project that must have succeeded (published or already present) before
   * this one starts, e.g. a heroku build whose source_url is served by the ssh upload to the download host.
   */
  after: z.array(z.string().regex(DESTINATION_NAME, 'destination names: letters, digits, ".", "_" and "-"')).default([]),
});
export type DestinationBase = z.infer<typeof destinationBaseSchema>;

/**
 * Signed provenance (issue 16): the Conjur variable holding the Ed25519 signing key (PKCS#8 PEM), and
 * the destination (of the project being released, type directory or ssh) that keeps the attestations
 * of destinations that cannot carry one (npm, rubygems). A project's own section overrides the file's.
 */
export const provenanceSchema = z
  .object({
    signing_key: z.string().regex(CONJUR_ID, 'a Conjur variable id such as release/provenance/signing-key').optional(),
    store: z.string().regex(DESTINATION_NAME, 'the name of a directory or ssh destination of the project').optional(),
  })
  .strict();
export type ProvenanceInput = z.infer<typeof provenanceSchema>;

export const projectSchema = z
  .object({
    authorized_group: z.string().regex(CONJUR_ID, 'a Conjur group id such as release/conjur-cli'),
    jenkins_job: z.string().min(1),
    artifact: z.enum(['files', 'docker']),
    channel: z.string().min(1).optional(),
    /** Build parameter holding the version in Jenkins Notification plugin reports. */
    version_parameter: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Jenkins build parameter name: letters, digits and _, e.g. version_parameter: VERSION')
      .default('VERSION'),
    /** sha256 (hex) of the per-project token in `POST /webhooks/jenkins/<token>`; the token itself is never stored. */
    notification_token_sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'the sha256 hex digest of the token')
      .optional(),
    /** For docker projects: where Jenkins pushes the image on the local registry. */
    image: z
      .object({
        repository: z.string().min(1),
        tls_verify: z.boolean().default(true),
      })
      .strict()
      .optional(),
    approvals: z.number().int().min(0).max(10).default(0),
    approver_group: z.string().regex(CONJUR_ID).optional(),
    approval_ttl_seconds: z.number().int().positive().default(3600),
    /** Conjur group whose members may yank a released version (`/release yank`); default: authorized_group. */
    yank_group: z.string().regex(CONJUR_ID, 'a Conjur group id such as release/conjur-cli-yank').optional(),
    /** How many destinations of one release run at once. */
    concurrency: z.number().int().min(1).max(32).default(4),
    destinations: z.array(destinationBaseSchema.passthrough()).min(1, 'a project needs at least one destination'),
    provenance: provenanceSchema.optional(),
  })
  .strict();
export type ProjectConfigInput = z.infer<typeof projectSchema>;

/** Bounds on what one build report can make the bot do, and how long quarantined copies are kept. */
export const stagingSchema = z
  .object({
    max_files: z.number().int().min(1).max(100_000).default(1000),
    max_depth: z.number().int().min(1).max(64).default(16),
    max_path_bytes: z.number().int().min(16).max(4096).default(255),
    /** 0: no limit. */
    max_total_bytes: z.number().int().min(0).default(0),
    /** Free bytes a quarantine copy must leave on the data directory's filesystem. */
    min_free_bytes: z
      .number()
      .int()
      .min(0)
      .default(1 << 30),
    /** `release-bot gc` removes quarantined builds released or superseded longer ago than this. */
    retention_days: z.number().int().min(0).max(3650).default(30),
  })
  .strict();
export type StagingInput = z.infer<typeof stagingSchema>;

export const projectsFileSchema = z
  .object({
    channel: z.string().min(1),
    staging_dir: z.string().min(1),
    staging: stagingSchema.prefault({}),
    identity: z
      .object({
        strategy: z.enum(['email-localpart', 'map']),
        map: z.record(z.string(), z.string().min(1)).default({}),
        /** The home workspace; learnt from Slack's auth.test at start when absent. */
        team_id: z.string().regex(SLACK_TEAM_ID, 'a Slack workspace id such as T024BE7LD').optional(),
        /** The home Enterprise Grid organisation; learnt from auth.test when absent (and team_id too). */
        enterprise_id: z.string().regex(SLACK_ENTERPRISE_ID, 'a Slack Enterprise Grid id such as E0AKF5D7N').optional(),
        /** Whether guests (single- and multi-channel) of the home workspace may be identified at all. */
        allow_guests: z.boolean().default(false),
        /** email-localpart: the only domains whose addresses map to a Conjur login (exact match, no subdomains). */
        email_domains: z
          .array(
            z
              .string()
              .regex(
                EMAIL_DOMAIN,
                'a domain name such as example.com (an IDN in its xn-- form; no @, no wildcard: list each subdomain you mean)',
              )
              .transform((d) => d.toLowerCase()),
          )
          .min(1, 'list at least one domain, e.g. [example.com]')
          .optional(),
      })
      .strict(),
    /** Conjur group whose members may read `/release audit` in Slack; when absent, any identified person may. */
    audit_group: z.string().regex(CONJUR_ID, 'a Conjur group id such as release/auditors').optional(),
    provenance: provenanceSchema.optional(),
    projects: z.record(
      z.string().regex(PROJECT_NAME, "project names are lower-case letters, digits, '.', '_' and '-' (e.g. conjur-cli)"),
      projectSchema,
    ),
  })
  .strict();
export type ProjectsFileInput = z.infer<typeof projectsFileSchema>;

const port = z.coerce.number().int().min(0).max(65535);
const optionalString = z.string().min(1).optional();

/** Every environment variable the bot reads; `.env.example` documents each one. */
export const envSchema = z.object({
  CONJUR_APPLIANCE_URL: z.string().url('a URL such as https://conjur.example.com'),
  CONJUR_ACCOUNT: z.string().min(1),
  CONJUR_AUTHN_LOGIN: z.string().min(1),
  CONJUR_AUTHN_API_KEY: optionalString,
  CONJUR_AUTHN_TOKEN_FILE: optionalString,
  CONJUR_CERT_FILE: optionalString,
  CONJUR_SSL_CERTIFICATE: optionalString,
  RELEASE_BOT_CONFIG: z.string().min(1).default('./releases.yml'),
  RELEASE_BOT_DATA_DIR: z.string().min(1).default('./data'),
  RELEASE_BOT_MODE: z.enum(['production', 'demo']).default('production'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  RELEASE_BOT_MAX_CONCURRENT_RELEASES: z.coerce.number().int().min(1).max(64).default(4),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** CLI commands: `json` for pino lines on stderr instead of plain ones (serve always logs JSON). */
  LOG_FORMAT: z.enum(['json', 'human']).optional(),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: z.string().url().optional(),
  JENKINS_JWT_SECRET: optionalString,
  JENKINS_JWT_PUBLIC_KEY: optionalString,
  JENKINS_JWKS_URL: z.string().url().optional(),
  JENKINS_JWT_AUDIENCE: z.string().min(1).default('release-bot'),
  JENKINS_JWT_ISSUER: optionalString,
  JENKINS_WEBHOOK_SECRET: optionalString,
  AUDIT_SYSLOG_URL: z
    .string()
    .regex(/^(udp|tcp):\/\/[^/]+:\d+$/, 'udp://host:port or tcp://host:port')
    .optional(),
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
