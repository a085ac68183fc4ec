// The Conjur and Slack Web API stand-ins of the Slack ack bench, in a process of their own: in the
// load generator's process their work (a membership check, a secrets batch and about six Slack calls per
// release) would delay the reading of the bot's acks and count against the bot alone; in the server
// process it would count against both apps. Prints one JSON line when ready; answers 'calls' over IPC
// with the number of Slack calls so far.
import { startConjur } from './lib/bot.js';
import { startSlackApi } from './lib/slack-api.js';

const { conjur, apiKey } = await startConjur();
const slack = await startSlackApi();
process.stdout.write(
  `${JSON.stringify({ ready: true, conjurUrl: conjur.url, apiKey, slackUrl: slack.url, responseBase: slack.responseUrl('') })}\n`,
);

process.on('message', (m) => {
  if (m === 'calls') process.send({ calls: [...slack.calls.values()].reduce((a, b) => a + b, 0) });
});
process.once('SIGTERM', async () => {
  await slack.close();
  await conjur.close();
  process.exit(0);
});
