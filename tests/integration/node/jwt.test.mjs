// JWT verification through the real binary (docs/SECURITY.md, "JWT"): each
// HASURA_GRAPHQL_JWT_SECRET field nself users configure (audience, issuer,
// claims_namespace, claims_namespace_path, claims_format, claims_map,
// allowed_skew), jwk_url refused at start, exp required unless
// REALTIME_JWT_REQUIRE_EXP=false (also on refresh), crit headers and iat in
// the future refused, and Hasura's claims winning over sub and role.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, Project } from './harness.mjs';

const HASURA_KEY = randomBytes(24).toString('hex');
const now = () => Math.floor(Date.now() / 1000);
const base64url = (data) => Buffer.from(data).toString('base64url');

// An HS256 JWT with any header (harness.signToken writes a fixed one).
function sign(secret, claims, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
// Signed with the Hasura key, expiring in an hour unless `claims` says otherwise.
const hasuraToken = (claims) => sign(HASURA_KEY, { exp: now() + 3600, ...claims });

// A started server whose HASURA_GRAPHQL_JWT_SECRET is the HS256 key plus `fields`.
async function server(fields = {}, env = {}) {
  const secret = JSON.stringify({ type: 'HS256', key: HASURA_KEY, ...fields });
  const project = await Project.create({ env: { HASURA_GRAPHQL_JWT_SECRET: secret, ...env } });
  await project.mustRealtime(['init']);
  await project.mustRealtime(['start']);
  return project;
}

// The server's answer to an auth message with `token` on a new connection:
// auth_ok or the error.
async function authenticate(project, token) {
  const client = await Client.connect(project.url());
  client.send({ type: 'auth', token, ref: 'a' });
  const answer = await client.next((event) => event.ref === 'a');
  await client.close();
  return answer;
}

async function accepted(project, token) {
  const answer = await authenticate(project, token);
  assert.equal(answer.type, 'auth_ok', JSON.stringify(answer));
  return answer;
}

async function refused(project, token, message) {
  const answer = await authenticate(project, token);
  assert.equal(answer.type, 'error', JSON.stringify(answer));
  assert.equal(answer.code, 'invalid_token', JSON.stringify(answer));
  if (message) assert.match(answer.message, message);
  return answer;
}

describe('HASURA_GRAPHQL_JWT_SECRET fields', () => {
  let project;
  before(async () => {
    project = await server({
      audience: ['app-1', 'app-2'],
      issuer: 'https://auth.example.com',
      claims_namespace: 'https://example.com/claims',
      allowed_skew: 60,
    });
  });
  after(async () => project.cleanup());

  test('audience: a token for another audience, or for none, is refused', async () => {
    await accepted(project, hasuraToken({ sub: 'alice', aud: 'app-2' }));
    await accepted(project, hasuraToken({ sub: 'alice', aud: ['other', 'app-1'] }));
    await refused(project, hasuraToken({ sub: 'alice', aud: 'app-3' }), /audience \(aud\)/);
    await refused(project, hasuraToken({ sub: 'alice', aud: ['app-3'] }), /audience \(aud\)/);
    await refused(project, hasuraToken({ sub: 'alice' }), /audience \(aud\)/);
  });

  test('issuer: a token from another issuer is refused', async () => {
    await accepted(project, hasuraToken({ sub: 'alice', aud: 'app-1', iss: 'https://auth.example.com' }));
    await refused(
      project,
      hasuraToken({ sub: 'alice', aud: 'app-1', iss: 'https://evil.example' }),
      /issuer \(iss\)/,
    );
  });

  test('claims_namespace: the session variables are read from the named claim', async () => {
    const answer = await accepted(
      project,
      hasuraToken({
        aud: 'app-1',
        'https://example.com/claims': { 'x-hasura-user-id': 'carol', 'x-hasura-default-role': 'user' },
      }),
    );
    assert.equal(answer.user_id, 'carol');
  });

  test('allowed_skew: a token expired less than allowed_skew ago is still accepted', async () => {
    const exp = now() - 20;
    const answer = await accepted(project, hasuraToken({ sub: 'alice', aud: 'app-1', exp }));
    // expires_at is exp + allowed_skew: when the server closes the connection.
    assert.equal(Date.parse(answer.expires_at), (exp + 60) * 1000);
    const expired = await authenticate(project, hasuraToken({ sub: 'alice', aud: 'app-1', exp: now() - 90 }));
    assert.equal(expired.code, 'token_expired', JSON.stringify(expired));
  });

  test('REALTIME_JWT_SECRET tokens are not held to the Hasura key\'s audience and issuer', async () => {
    await accepted(project, project.token('alice', { aud: 'elsewhere', iss: 'someone' }));
  });
});

test('claims_namespace_path: the session variables are found by JSON path', async () => {
  const project = await server({ claims_namespace_path: '$.hasura.claims' });
  try {
    const answer = await accepted(
      project,
      hasuraToken({ hasura: { claims: { 'x-hasura-user-id': 'dave', 'x-hasura-default-role': 'user' } } }),
    );
    assert.equal(answer.user_id, 'dave');
  } finally {
    await project.cleanup();
  }
});

test('claims_format: stringified_json claims are a string, and an object is refused', async () => {
  const project = await server({ claims_format: 'stringified_json' });
  try {
    const claims = { 'x-hasura-user-id': 'erin', 'x-hasura-default-role': 'user' };
    const answer = await accepted(project, hasuraToken({ 'https://hasura.io/jwt/claims': JSON.stringify(claims) }));
    assert.equal(answer.user_id, 'erin');
    await refused(project, hasuraToken({ 'https://hasura.io/jwt/claims': claims }), /must be a string/);
  } finally {
    await project.cleanup();
  }
});

test('claims_map: the user and role come from JSON paths with defaults', async () => {
  const project = await server({
    claims_map: {
      'x-hasura-allowed-roles': { path: '$.roles' },
      'x-hasura-default-role': { path: '$.roles[0]', default: 'user' },
      'x-hasura-user-id': { path: '$.user.id' },
    },
  });
  try {
    const answer = await accepted(project, hasuraToken({ sub: 'ignored', user: { id: 'frank' } }));
    assert.equal(answer.user_id, 'frank');
    await refused(project, hasuraToken({ sub: 'frank' }), /no claim for x-hasura-user-id/);
    // The role is read too: an admin token may call the admin API.
    const admin = hasuraToken({ user: { id: 'frank' }, roles: ['admin'] });
    const response = await fetch(`http://127.0.0.1:${project.port}/api/channels`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(response.status, 200);
  } finally {
    await project.cleanup();
  }
});

test('start refuses jwk_url, and both claims_namespace and claims_namespace_path, with a clear error', async () => {
  for (const [secret, message] of [
    [
      { jwk_url: 'https://auth.example.com/.well-known/jwks.json' },
      /HASURA_GRAPHQL_JWT_SECRET: "jwk_url" is not supported: this server does not fetch keys/,
    ],
    [
      { type: 'HS256', key: HASURA_KEY, claims_namespace: 'a', claims_namespace_path: '$.b' },
      /HASURA_GRAPHQL_JWT_SECRET: "claims_namespace" and "claims_namespace_path" cannot both be set/,
    ],
  ]) {
    const project = await Project.create({ env: { HASURA_GRAPHQL_JWT_SECRET: JSON.stringify(secret) } });
    try {
      await project.mustRealtime(['init']);
      const started = await project.realtime(['start']);
      assert.notEqual(started.code, 0, started.stdout);
      assert.match(started.stderr, message);
      assert.doesNotMatch(started.stderr, /HASURA_GRAPHQL_JWT_SECRET: HASURA_GRAPHQL_JWT_SECRET/);
      assert.ok(!started.stderr.includes(HASURA_KEY), 'the key is not echoed');
    } finally {
      await project.cleanup();
    }
  }
});

describe('token checks (REALTIME_JWT_SECRET, defaults)', () => {
  let project;
  before(async () => {
    project = await Project.create();
    await project.mustRealtime(['init']);
    await project.mustRealtime(['start']);
  });
  after(async () => project.cleanup());
  const token = (claims, header) => sign(project.secret, claims, header);

  test('a token without exp is refused: in the query, in an auth message, and as a refresh', async () => {
    const forever = token({ sub: 'alice' });
    await assert.rejects(Client.connect(project.url(`?token=${forever}`)), /HTTP 401/);
    await refused(project, forever, /no "exp"/);

    const client = await Client.connect(project.url(`?token=${project.token('alice')}`));
    await client.next('auth_ok');
    client.send({ type: 'auth', token: forever, ref: 'r' });
    const answer = await client.next((event) => event.ref === 'r');
    assert.equal(answer.code, 'invalid_token', JSON.stringify(answer));
    client.send({ type: 'ping', ref: 'p' });
    await client.next('pong');
    await client.close();
  });

  test('a token with a crit header is refused (RFC 7515)', async () => {
    const claims = { sub: 'alice', exp: now() + 3600 };
    await refused(project, token(claims, { alg: 'HS256', typ: 'JWT', crit: ['exp'], exp: 1 }), /crit/);
    await refused(project, token(claims, { alg: 'HS256', crit: ['b64'], b64: false }), /crit/);
    await accepted(project, token(claims, { alg: 'HS256', kid: 'key-1' }));
  });

  test('a token issued in the future beyond the leeway is refused', async () => {
    await refused(project, token({ sub: 'alice', exp: now() + 7200, iat: now() + 3600 }), /iat/);
    await accepted(project, token({ sub: 'alice', exp: now() + 7200, iat: now() + 5 }));
  });

  test('x-hasura-user-id wins over sub, x-hasura-default-role over role (as in Hasura)', async () => {
    const both = project.token('alice', {
      role: 'admin',
      'https://hasura.io/jwt/claims': { 'x-hasura-user-id': 'bob', 'x-hasura-default-role': 'user' },
    });
    const answer = await accepted(project, both);
    assert.equal(answer.user_id, 'bob');
    // The role is the Hasura one: not an admin.
    const response = await fetch(`http://127.0.0.1:${project.port}/api/channels`, {
      headers: { authorization: `Bearer ${both}` },
    });
    assert.equal(response.status, 403);
  });
});

test('REALTIME_JWT_REQUIRE_EXP=false accepts tokens without exp', async () => {
  const project = await Project.create({ env: { REALTIME_JWT_REQUIRE_EXP: 'false' } });
  try {
    await project.mustRealtime(['init']);
    await project.mustRealtime(['start']);
    const answer = await accepted(project, sign(project.secret, { sub: 'alice' }));
    assert.equal(answer.expires_at, null);
  } finally {
    await project.cleanup();
  }
});
