/** Debian's chromium, never a downloaded one (CHROMIUM_PATH overrides the path). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** No background traffic on a machine whose only network is loopback. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // WebRTC: plain host candidates (not mDNS names, which nothing here resolves).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];
