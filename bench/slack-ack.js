export const title = 'slack-ack';
export async function available() {
  return { ok: false, reason: 'not written yet' };
}
