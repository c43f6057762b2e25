// The peer OpenID Provider for Tessera's benchmarks: oidc-provider (an OpenID-certified OP)
// configured for the same work Tessera does in the comparable scenarios.
//
//   node peer.js PORT
//
// - one confidential client (`client_secret_basic`) allowed client_credentials;
// - RS256 and ES256 signing keys, generated at start (as Tessera generates its own);
// - client_credentials tokens are JWTs signed with RS256 (resource `urn:bench:rs256`, the
//   default) or ES256 (resource `urn:bench:es256`): one signature per token, like Tessera;
// - introspection on; it only accepts opaque tokens (oidc-provider refuses to introspect
//   JWTs), so the introspected token comes from resource `urn:bench:opaque`;
// - discovery at /.well-known/openid-configuration, JWKS at /jwks.
// Everything else keeps oidc-provider's defaults (in-memory adapter).

import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 5600);
const issuer = `http://127.0.0.1:${port}`;

function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: alg.toLowerCase() };
}

const resources = {
  'urn:bench:rs256': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  'urn:bench:es256': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  'urn:bench:opaque': { accessTokenFormat: 'opaque' },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'example-app',
    client_secret: 'ZXhhbXBsZS1hcHAtc2VjcmV0',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    redirect_uris: ['http://127.0.0.1:5555/callback'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: {
    keys: [
      jwk('rsa', { modulusLength: 2048 }, 'RS256'),
      jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Any authenticated client may introspect, as in Tessera.
    introspection: { enabled: true, allowedPolicy: () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf || 'urn:bench:rs256',
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        const info = resources[resource];
        if (!info) throw new Error(`unknown resource ${resource}`);
        return { scope: 'api', audience: resource, accessTokenTTL: 3600, ...info };
      },
    },
  },
});

// oidc-provider logs every server error through this event; keep the console quiet under load.
provider.on('server_error', (_ctx, err) => console.error('server_error', err.message));

provider.listen(port, '127.0.0.1', () => console.log(`peer listening on ${issuer}`));
