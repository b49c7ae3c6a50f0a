// A learner embedded in a page: joins the trainer that served it, shows its state, and says when the run ended.
import { joinFederation } from '@oiafed/browser';
import { LinearLearner } from '../src/linear-learner.js';

const status = document.querySelector('#status')!;

async function learn(): Promise<void> {
  const member = await joinFederation({
    url: `ws://${location.host}/fl`,
    learner: new LinearLearner(1),
    id: 'tab',
  });
  status.textContent = member.status.state;
  member.events.on('status', (s) => (status.textContent = s.state));
  const { reason, rounds } = await member.finished;
  status.textContent = `finished: ${reason} after ${rounds} rounds`;
}

learn().catch((error: unknown) => (status.textContent = `error: ${String(error)}`));
