export const title = 'release-overhead';
export async function available() {
  return { ok: false, reason: 'not written yet' };
}
