// A real OpenID Connect provider (node-oidc-provider) on loopback, for Dynamote's sign-in tests.
// Usage: node provider.mjs  (settings from the environment; prints "listening <issuer>")
//   OIDC_PORT            port to listen on (0: any free one)
//   OIDC_REDIRECT_URIS   Dynamote's callback URLs, comma-separated (registered redirect URIs)
//   OIDC_LOGOUT_URI      where the provider may send the browser after logout
//   OIDC_CLOCK_SKEW      seconds added to the provider's clock while it issues tokens (a
//                        negative value issues tokens that have already expired)
// Any login is accepted, with any password; an account's groups are set by the tests with
// `PUT /test/groups/<login>` and a JSON list body (none until then).
import http from "node:http";
import Provider from "oidc-provider";

const skew = Number(process.env.OIDC_CLOCK_SKEW || 0) * 1000;
let issuingTokens = false;
if (skew) {
  const realNow = Date.now;
  Date.now = () => realNow() + (issuingTokens ? skew : 0);
}

const port = Number(process.env.OIDC_PORT || 0);
const server = http.createServer();
await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const groupsOf = new Map();
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "dynamote",
      client_secret: "dynamote-test-secret",
      redirect_uris: process.env.OIDC_REDIRECT_URIS.split(","),
      post_logout_redirect_uris: [process.env.OIDC_LOGOUT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["preferred_username", "name"],
    groups: ["groups"],
  },
  async findAccount(ctx, id) {
    const name = id;
    const groups = groupsOf.get(id) || [];
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${name}@example.com`,
          email_verified: true,
          preferred_username: name,
          name,
          groups,
        };
      },
    };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ["dynamote-test-cookie-key"] },
});
provider.on("server_error", (ctx, err) => console.error("server_error", err));
const oidc = provider.callback();
server.on("request", (req, res) => {
  if (req.url.startsWith("/token")) {
    issuingTokens = true;
    res.on("finish", () => (issuingTokens = false));
  }
  const match = req.url.match(/^\/test\/groups\/([^/?]+)$/);
  if (!match || req.method !== "PUT") return oidc(req, res);
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    groupsOf.set(decodeURIComponent(match[1]), JSON.parse(body));
    res.writeHead(204).end();
  });
});
console.log(`listening ${issuer}`);
