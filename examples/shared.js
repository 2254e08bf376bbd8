// Helpers shared by the examples: where the server is, and (in development
// mode only, REALTIME_DEV_MODE=true) tokens and channels made on the fly.
export const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
export const params = new URLSearchParams(location.search);

export async function serverInfo() {
  try {
    return await (await fetch('/console/info')).json();
  } catch {
    return { dev_mode: false };
  }
}

// POST /console/token: a token for `userId` (development mode only).
export async function mint(userId, role = 'user') {
  const response = await fetch('/console/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId, role }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body.token;
}

// Creates the channel through the HTTP API with a development admin token
// when it does not exist (409 when it does: fine).
export async function ensureChannel(slug, type, { ephemeral = false } = {}) {
  const token = await mint('examples-admin', 'admin');
  const response = await fetch('/api/channels', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: slug, slug, type, persistent: !ephemeral }),
  });
  if (!response.ok && response.status !== 409) {
    throw new Error(`cannot create channel ${slug}: HTTP ${response.status}`);
  }
}

// The token to use: ?token=..., else one minted in development mode.
export async function tokenFor(userId) {
  const pasted = params.get('token');
  if (pasted) return pasted;
  const info = await serverInfo();
  if (!info.dev_mode) {
    throw new Error('no ?token= given and the server is not in development mode (REALTIME_DEV_MODE=true)');
  }
  return () => mint(userId);
}

export function randomName() {
  const names = ['otter', 'lynx', 'heron', 'panda', 'koala', 'falcon', 'badger', 'gecko'];
  return `${names[Math.floor(Math.random() * names.length)]}-${Math.floor(Math.random() * 900 + 100)}`;
}
