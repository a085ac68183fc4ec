export const title = 'jenkins-webhook';
export async function available() {
  return { ok: false, reason: 'not written yet' };
}
