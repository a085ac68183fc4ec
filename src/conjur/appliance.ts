import { readFileSync } from 'node:fs';
import { ErrorCode, ReleaseBotError } from '../errors.js';

/**
 * Conjur Cloud (CyberArk Secrets Manager, SaaS) tenants: `<tenant>.secretsmgr.cyberark.cloud` or
 * `<tenant>-secretsmanager.cyberark.cloud`, the REST API under `/api`, the account always `conjur`
 * (cyberark/conjur-api-go conjurapi/router_url.go ConjurCloudRegexp and normalizeBaseURL,
 * conjurapi/config.go applyDefaults).
 */
const CLOUD_HOST = /(\.secretsmgr|-secretsmanager)\.cyberark\.cloud$/i;
export const CLOUD_ACCOUNT = 'conjur';

export const isConjurCloud = (url: URL): boolean => url.protocol === 'https:' && CLOUD_HOST.test(url.hostname);

/**
 * CONJUR_APPLIANCE_URL as the base of every call. Self-hosted Conjur answers at the URL as given
 * (its root, or the prefix a proxy puts it under: never guessed). On Conjur Cloud the API is always
 * under `/api`, so there and only there the tenant's bare URL is taken to mean `<url>/api`; any other
 * path on a Cloud tenant is refused rather than guessed.
 */
export function parseApplianceUrl(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    // The value is not repeated: a URL with user:password@ in it would put a credential in the message.
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      'CONJUR_APPLIANCE_URL is not a Conjur URL: use https://conjur.example.com (http or https, no credentials, query or fragment)',
    );
  }
  if (isConjurCloud(url)) {
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '') url.pathname = '/api';
    else if (path !== '/api') {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `CONJUR_APPLIANCE_URL ${url.origin}${url.pathname} is a Conjur Cloud tenant with a path other than /api: use https://<tenant>.secretsmgr.cyberark.cloud/api (or without /api)`,
      );
    }
  }
  return url;
}

/** Conjur Cloud has one account, `conjur`: anything else would fail every call with a 401 or 404. */
export function assertCloudAccount(url: URL, account: string): void {
  if (isConjurCloud(url) && account !== CLOUD_ACCOUNT) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `CONJUR_ACCOUNT is ${JSON.stringify(account)}, but ${url.hostname} is Conjur Cloud, whose account is always "${CLOUD_ACCOUNT}": set CONJUR_ACCOUNT=${CLOUD_ACCOUNT}`,
    );
  }
}

/**
 * The CA to trust: CONJUR_SSL_CERTIFICATE (the PEM itself) or CONJUR_CERT_FILE (a path to it), as
 * Conjur's own clients read them (conjur-api-go conjurapi/config.go ReadSSLCert). Both set is
 * refused: the Go client silently prefers the content, and a trust root that is not the one the
 * operator thinks is worse than a start that fails and says why.
 */
export function conjurCa(options: { certFile?: string | undefined; sslCertificate?: string | undefined }): string | undefined {
  const { certFile, sslCertificate } = options;
  if (certFile !== undefined && sslCertificate !== undefined) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      'CONJUR_SSL_CERTIFICATE and CONJUR_CERT_FILE are both set: keep one (the certificate itself, or the path of its file)',
    );
  }
  if (sslCertificate !== undefined) {
    // An environment file often holds the PEM on one line with literal \n: take those as line breaks.
    const pem = sslCertificate.includes('\n') ? sslCertificate : sslCertificate.replace(/\\n/g, '\n');
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        "CONJUR_SSL_CERTIFICATE is not a PEM certificate: put Conjur's CA certificate itself there (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), or its path in CONJUR_CERT_FILE",
      );
    }
    return pem;
  }
  if (certFile === undefined) return undefined;
  try {
    const pem = readFileSync(certFile, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate');
    return pem;
  } catch (err) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `CONJUR_CERT_FILE ${certFile} is not a readable PEM certificate: point it at Conjur's CA certificate (e.g. conjur-<account>.pem)`,
      { cause: err },
    );
  }
}
