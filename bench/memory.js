export const title = 'memory';
export async function available() {
  return { ok: false, reason: 'not written yet' };
}
