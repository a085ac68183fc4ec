import { z } from '../../src/config/zod.js';
import { clip } from '../../src/validate.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/**
 * A service base URL. Credentials travel with every request to it, so plain http is refused except on
 * loopback, and a URL carrying user:password is refused (secrets come from Conjur, never from the projects file).
 */
export const serviceUrl = z
  .string()
  .superRefine((value, issue) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      issue.addIssue({ code: 'custom', message: `"${clip(value)}" is not a URL: use e.g. https://registry.example.com/` });
      return;
    }
    if (url.username || url.password)
      issue.addIssue({ code: 'custom', message: 'put no credentials in the URL: they come from Conjur through `credentials:`' });
    else if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname))
      issue.addIssue({
        code: 'custom',
        message: 'use https: a credential is sent with every request (plain http is only allowed on loopback)',
      });
    else if (url.protocol !== 'https:' && url.protocol !== 'http:') issue.addIssue({ code: 'custom', message: 'use an https:// URL' });
    else if (url.search || url.hash) issue.addIssue({ code: 'custom', message: 'use a base URL without ?query or #fragment' });
  })
  .transform((value) => value.replace(/\/+$/, ''));
