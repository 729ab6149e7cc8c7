const [, , path, mode] = process.argv;
const { WorkosModel, generateScenario, startEmulator } = await import(path!);
const model = new WorkosModel({ seed: 1, clock: () => new Date('2026-02-01T12:00:00.000Z') });
generateScenario(model, { seed: 7, events: 100_000, connections: 54_600 });
const t = performance.now();
const em = await startEmulator({ model, apiKey: 'k', warmCertificates: mode !== 'lazy' });
let warm = '';
if (mode === 'await') { await em.certificatesWarm; warm = ` warm-up ${Math.round(performance.now() - t)}ms;`; }
async function pageThrough() {
  let after: string | null = null; let n = 0;
  const t0 = performance.now();
  do {
    const res = await fetch(`${em.url}/connections?limit=100&order=asc${after ? `&after=${after}` : ''}`, { headers: { Authorization: 'Bearer k' } });
    const body = JSON.parse(await res.text()); n += body.data.length;
    after = body.list_metadata.after;
  } while (after);
  return Math.round(performance.now() - t0);
}
const passes = []; for (let i = 0; i < 3; i++) passes.push(await pageThrough());
console.log(`${path!.includes('/tmp/before') ? 'before' : 'after '} ${mode ?? ''}:${warm} passes ms ${passes.join(' / ')} (${model.liveConnections().length} connections)`);
await em.close();
