// The dashboard page that `oiafed serve` and the demo serve: it joins the trainer that served it
// (the same host and port, over WebSocket) as an observer. The URL fragment may carry the admin
// token and another trainer to watch: /dashboard/#token=...&server=ws://host:port
import { mountDashboard, observerFeed } from '../src/index.js';

const fragment = new URLSearchParams(location.hash.slice(1));
const server =
  fragment.get('server') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
const token = fragment.get('token') ?? undefined;
// The fragment is never sent to a server; the token leaves the address bar too (and its history).
if (token !== undefined) {
  fragment.delete('token');
  const rest = fragment.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
}
const feed = observerFeed({ url: server });
const dashboard = mountDashboard(document.getElementById('dashboard')!, feed, {
  title: `oiafed dashboard · ${new URL(server).host}`,
  ...(token === undefined ? {} : { token }),
});
// For tests and the curious: the feed and the view.
Object.assign(globalThis, { oiafedDashboard: { feed, dashboard } });
