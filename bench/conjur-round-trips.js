export const title = 'conjur-round-trips';
export async function available() {
  return { ok: false, reason: 'not written yet' };
}
