/**
 * SAML signing certificates in the emulator's listing: real self-signed X.509 PEMs with chosen
 * expiries, read back over real HTTP with `node:crypto`'s X509Certificate as the sync engine does;
 * the model's rules on what changes them; and the scenario generator's certificates.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Emulator,
  generateScenario,
  type SigningCertificate,
  startEmulator,
  WorkosModel,
} from '../emulator/index.ts';
import { signingCertCacheSize } from '../emulator/signing-cert-pems.ts';
import type { WireConnection, WireConnectionList } from '../src/workos/wire.ts';

const API_KEY = 'sk_test_emulator_certs';
const NOW = new Date('2026-02-01T12:00:00.000Z');
const DAY = 86_400_000;
const fixedClock = () => NOW;

let emulator: Emulator;
let model: WorkosModel;

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${emulator.url}${path}`, { headers: { Authorization: `Bearer ${API_KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function listAll(query = ''): Promise<WireConnection[]> {
  const out: WireConnection[] = [];
  let after: string | null = null;
  do {
    const page: WireConnectionList = await get(
      `/connections?limit=100&order=asc${query}${after ? `&after=${after}` : ''}`,
    );
    out.push(...page.data);
    after = page.list_metadata.after ?? null;
  } while (after);
  return out;
}

const listed = async (id: string) => (await get<WireConnection>(`/connections/${id}`)).options?.signing_cert;

async function listedCertificate(id: string): Promise<X509Certificate> {
  const pem = await listed(id);
  expect(typeof pem).toBe('string');
  return new X509Certificate(pem as string);
}

beforeAll(async () => {
  model = new WorkosModel({ seed: 21, clock: fixedClock });
  emulator = await startEmulator({ model, apiKey: API_KEY });
});

afterAll(() => emulator?.close());

describe('signing certificates over HTTP', () => {
  it('serves a parsable self-signed PEM with the chosen expiry, stable across requests', async () => {
    const notAfter = new Date('2026-09-15T08:30:45.000Z');
    const { id } = model.createConnection({
      connectionType: 'AzureSAML',
      domains: ['acme.com'],
      signingCertificate: { notAfter, subject: 'idp.example.com' },
    });
    const fromList = (await listAll()).find((c) => c.id === id);
    const pem = fromList?.options?.signing_cert;
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/);
    const cert = new X509Certificate(pem as string);
    expect(cert.validToDate.toISOString()).toBe(notAfter.toISOString());
    expect(cert.subject).toBe('CN=idp.example.com');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(cert.validFromDate.getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(cert.validFromDate.getTime()).toBeLessThanOrEqual(notAfter.getTime() - 365 * DAY);

    // Same PEM from a second listing and from Get Connection.
    const again = await listedCertificate(id);
    expect(again.fingerprint256).toBe(cert.fingerprint256);
    const secondList = (await listAll()).find((c) => c.id === id);
    expect(secondList?.options?.signing_cert).toBe(pem);
    expect(model.signingCertificate(id)).toEqual({ notAfter, subject: 'idp.example.com' });
  });

  it('one key pair signs every certificate; (subject, expiry) fixes the serial; PEMs are cached', async () => {
    const notAfter = new Date(NOW.getTime() + 90 * DAY);
    const before = signingCertCacheSize();
    const ids = Array.from(
      { length: 30 },
      (_, i) =>
        model.createConnection({
          connectionType: 'OktaSAML',
          signingCertificate: {
            notAfter: new Date(notAfter.getTime() + (i % 3) * DAY),
            subject: 'shared.idp',
          },
        }).id,
    );
    const all = await listAll();
    const pems = new Map(all.map((c) => [c.id, c.options?.signing_cert]));
    const certs = ids.map((id) => new X509Certificate(pems.get(id) as string));
    expect(signingCertCacheSize() - before).toBe(3);
    expect(new Set(certs.map((c) => c.fingerprint256)).size).toBe(3);
    expect(certs[0]?.fingerprint256).toBe(certs[3]?.fingerprint256);
    const other = all.find((c) => !ids.includes(c.id) && typeof c.options?.signing_cert === 'string');
    const first = await listedCertificate(other?.id as string);
    expect(first.subject).not.toBe('CN=shared.idp');
    for (const cert of certs) expect(cert.publicKey.equals(first.publicKey)).toBe(true);
    expect(certs[0]?.serialNumber).not.toBe(certs[1]?.serialNumber);
  });

  it('a SAML connection defaults to no certificate; set one silently with a derived subject', async () => {
    const c = model.createConnection({ connectionType: 'GenericSAML', domains: ['Globex.io', 'b.io'] });
    expect(await listed(c.id)).toBeNull();
    expect(model.signingCertificate(c.id)).toBeNull();

    const events = model.eventCount;
    const at = new Date(NOW.getTime() + 60_000);
    const notAfter = new Date('2026-12-31T00:00:00.000Z');
    const updated = model.setSigningCertificate(c.id, { notAfter }, at);
    expect(updated.updated_at).toBe(at.toISOString());
    expect(model.eventCount).toBe(events);
    expect(model.signingCertificate(c.id)).toEqual({ notAfter, subject: 'idp.globex.io' });
    const cert = await listedCertificate(c.id);
    expect(cert.subject).toBe('CN=idp.globex.io');
    expect(cert.validToDate.toISOString()).toBe(notAfter.toISOString());

    // Without domains the organisation id names the certificate.
    const bare = model.createConnection({ connectionType: 'OktaSAML', signingCertificate: { notAfter } });
    expect(model.signingCertificate(bare.id)).toMatchObject({
      subject: `idp.${bare.organization_id?.toLowerCase()}`,
    });

    model.setSigningCertificate(c.id, null);
    expect(await listed(c.id)).toBeNull();
  });

  it('an expired certificate is still served, already expired', async () => {
    const notAfter = new Date(NOW.getTime() - 3 * DAY);
    const { id } = model.createConnection({ connectionType: 'OktaSAML', signingCertificate: { notAfter } });
    const cert = await listedCertificate(id);
    expect(cert.validToDate.toISOString()).toBe(notAfter.toISOString());
    expect(cert.validFromDate.getTime()).toBeLessThan(notAfter.getTime());
  });

  it('ResponseSigning events move the listed expiry (keeping the subject); other types do not', async () => {
    const original = new Date('2026-03-01T00:00:00.000Z');
    const { id } = model.createConnection({
      connectionType: 'OktaSAML',
      signingCertificate: { notAfter: original, subject: 'okta.idp' },
    });
    const before = await listedCertificate(id);
    const updatedAt = model.getConnection(id).updated_at;

    model.renewCertificate(id, 'RequestSigning', new Date('2027-01-01T00:00:00.000Z'));
    model.renewCertificate(id, 'ResponseEncryption', new Date('2027-01-02T00:00:00.000Z'));
    expect((await listedCertificate(id)).fingerprint256).toBe(before.fingerprint256);

    const renewedTo = new Date('2027-03-01T00:00:00.000Z');
    const event = model.renewCertificate(id, 'ResponseSigning', renewedTo);
    expect(event.data.certificate.expiry_date).toBe(renewedTo.toISOString());
    const renewed = await listedCertificate(id);
    expect(renewed.validToDate.toISOString()).toBe(renewedTo.toISOString());
    expect(renewed.subject).toBe('CN=okta.idp');
    expect(renewed.fingerprint256).not.toBe(before.fingerprint256);
    expect(model.signingCertificate(id)).toEqual({ notAfter: renewedTo, subject: 'okta.idp' });
    // Certificate events carry no updated_at, and leave the connection's alone.
    expect(model.getConnection(id).updated_at).toBe(updatedAt);

    // A renewal notice describes the certificate in use: the listing agrees with it too.
    const expiring = new Date('2026-02-10T00:00:00.000Z');
    model.requireCertificateRenewal(id, 'ResponseSigning', expiring);
    expect((await listedCertificate(id)).validToDate.toISOString()).toBe(expiring.toISOString());
    model.requireCertificateRenewal(id, 'RequestSigning', new Date('2026-02-05T00:00:00.000Z'));
    expect((await listedCertificate(id)).validToDate.toISOString()).toBe(expiring.toISOString());

    // A SAML connection without one gets one, named after the connection.
    const fresh = model.createConnection({ connectionType: 'AzureSAML', domains: ['initech.com'] });
    model.renewCertificate(fresh.id, 'ResponseSigning', renewedTo);
    expect((await listedCertificate(fresh.id)).subject).toBe('CN=idp.initech.com');
  });

  it('non-SAML connections have no options and take no certificate', async () => {
    const oidc = model.createConnection({ connectionType: 'GenericOIDC' });
    const oauth = model.createConnection({ connectionType: 'GoogleOAuth' });
    model.renewCertificate(oauth.id, 'ResponseSigning', new Date('2027-01-01T00:00:00.000Z'));
    for (const id of [oidc.id, oauth.id]) {
      expect(await get<WireConnection>(`/connections/${id}`)).not.toHaveProperty('options');
      expect(model.signingCertificate(id)).toBeNull();
    }
    const page = await listAll('&connection_type=GenericOIDC');
    expect(page.length).toBeGreaterThan(0);
    for (const c of page) expect(c).not.toHaveProperty('options');
    expect(() => model.setSigningCertificate(oidc.id, { notAfter: new Date() })).toThrow(/only SAML/);
    expect(() =>
      model.createConnection({ connectionType: 'GoogleOAuth', signingCertificate: { notAfter: new Date() } }),
    ).toThrow(/only SAML/);
    expect(() => model.setSigningCertificate(oidc.id, null)).not.toThrow();
  });

  it('serves raw text that no parser accepts, for tests of bad certificates', async () => {
    const { id } = model.createConnection({ connectionType: 'OktaSAML' });
    model.setSigningCertificate(id, { raw: 'not a pem' });
    expect(await listed(id)).toBe('not a pem');
    expect(() => new X509Certificate('not a pem')).toThrow();
    expect(model.signingCertificate(id)).toEqual({ raw: 'not a pem' });
    // A renewal replaces it with a real certificate.
    model.renewCertificate(id, 'ResponseSigning', new Date('2027-06-01T00:00:00.000Z'));
    expect((await listedCertificate(id)).validToDate.toISOString()).toBe('2027-06-01T00:00:00.000Z');
  });

  it('rejects an invalid expiry', () => {
    const { id } = model.createConnection({ connectionType: 'OktaSAML' });
    expect(() => model.setSigningCertificate(id, { notAfter: new Date(Number.NaN) })).toThrow(/notAfter/);
  });
});

describe('scenario certificates', () => {
  const run = (seed: number) => {
    const m = new WorkosModel({ seed: 4, clock: fixedClock });
    generateScenario(m, { seed, events: 3000 });
    return m;
  };

  it('gives most SAML connections a certificate, spread over day-aligned expiries and few subjects', () => {
    const m = run(8);
    const saml = m.liveConnections().filter((c) => c.options !== undefined);
    const certs = saml.map((c) => m.signingCertificate(c.id));
    const generated = certs.filter((c): c is SigningCertificate => c !== null && 'notAfter' in c);
    expect(generated.length).toBe(certs.filter((c) => c !== null).length);
    expect(generated.length).toBeGreaterThan(saml.length * 0.75);
    expect(generated.length).toBeLessThan(saml.length);

    const expiries = generated.map((c) => c.notAfter.getTime());
    for (const ms of expiries) expect(ms % DAY).toBe(0);
    const daysAhead = expiries.map((ms) => (ms - NOW.getTime()) / DAY);
    const expired = daysAhead.filter((d) => d <= 0).length;
    expect(expired).toBeGreaterThan(0);
    expect(expired).toBeLessThan(generated.length * 0.2);
    expect(daysAhead.filter((d) => d > 0 && d <= 30).length).toBeGreaterThan(0);
    expect(daysAhead.filter((d) => d > 300).length).toBeGreaterThan(0);
    expect(Math.max(...daysAhead)).toBeLessThanOrEqual(400);
    expect(Math.min(...daysAhead)).toBeGreaterThanOrEqual(-31);

    expect(new Set(generated.map((c) => c.subject)).size).toBeLessThanOrEqual(3);
    const pairs = new Set(generated.map((c) => `${c.subject}|${c.notAfter.getTime()}`));
    expect(pairs.size).toBeLessThan(generated.length / 2);
  });

  it('lists the expiry of the newest ResponseSigning event of each connection', () => {
    const m = run(8);
    const newest = new Map<string, string>();
    for (const e of m.events()) {
      const data = e.data as { connection?: { id: string }; certificate?: Record<string, string> };
      if (data.certificate?.certificate_type === 'ResponseSigning' && data.connection) {
        newest.set(data.connection.id, data.certificate.expiry_date as string);
      }
    }
    expect(newest.size).toBeGreaterThan(10);
    const live = new Set(m.liveConnections().map((c) => c.id));
    let checked = 0;
    for (const [id, expiry] of newest) {
      if (!live.has(id)) continue;
      expect((m.signingCertificate(id) as SigningCertificate).notAfter.toISOString()).toBe(expiry);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('is deterministic for a seed', () => {
    const certificates = (m: WorkosModel) => JSON.stringify([...m.signingCertificates()]);
    expect(certificates(run(8))).toBe(certificates(run(8)));
    expect(certificates(run(9))).not.toBe(certificates(run(8)));
  });
});
