// Prints bench/compare.sh's table from its JSON lines: one row per scenario
// and figure, nself's value, then each peer's value with the ratio that says
// how nself compares: ours / peer for throughput, peer / ours for latency and
// memory, so a ratio above 1 means nself does better.
// Usage: node table.mjs FILE.jsonl nself PEER...
import { readFileSync } from 'node:fs';

const [file, ...targets] = process.argv.slice(2);
const runs = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const labels = [...new Set(runs.map((r) => r.label))];
const find = (label, target) => runs.find((r) => r.label === label && r.target === target);

const si = (x) =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0);
const ms = (us) => (us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : `${(us / 1000).toFixed(2)} ms`);
const kib = (bytes) => `${(bytes / 1024).toFixed(2)} KiB`;

// The figures of a scenario: [name, value of a run (undefined: none), format, higher is better].
function figures(label) {
  const kind = label.split(' ')[0];
  const delivered = (r) => r.deliveries_per_s;
  const lat = (key) => (r) => (r.latency?.count ? r.latency[key] : undefined);
  switch (kind) {
    case 'idle':
      return [
        ['held', (r) => r.connections_held, si, true],
        ['server RSS per connection', (r) => r.server?.rss_per_connection_bytes || undefined, kib, false],
      ];
    case 'fanout':
      if (label.includes('full speed')) {
        return [
          ['deliveries/s', delivered, si, true],
          ['latency p50', lat('p50_us'), ms, false],
          ['latency p99', lat('p99_us'), ms, false],
        ];
      }
      return [
        ['latency p50', lat('p50_us'), ms, false],
        ['latency p99', lat('p99_us'), ms, false],
        ['latency max', lat('max_us'), ms, false],
        ['deliveries/s', delivered, si, true],
      ];
    case 'chat':
      return [
        ['deliveries/s', delivered, si, true],
        ['latency p50', lat('p50_us'), ms, false],
        ['latency p99', lat('p99_us'), ms, false],
      ];
    case 'churn':
      return [['connects/s', (r) => r.connects_per_s, si, true]];
    default:
      return [];
  }
}

const peers = targets.filter((t) => t !== 'nself');
const header = ['Scenario', 'Figure', 'nself', ...peers.map((p) => `${p} (ratio)`)];
const rows = [];
for (const label of labels) {
  for (const [name, get, format, higherBetter] of figures(label)) {
    const ours = find(label, 'nself');
    const ourValue = ours && !ours.failed ? get(ours) : undefined;
    const cells = [label, name, ours?.failed ? 'failed' : ourValue === undefined ? '-' : format(ourValue)];
    for (const peer of peers) {
      const run = find(label, peer);
      if (!run) {
        cells.push('n/a');
        continue;
      }
      if (run.failed) {
        cells.push('failed');
        continue;
      }
      const value = get(run);
      if (value === undefined) {
        cells.push('-');
        continue;
      }
      let ratio = '';
      if (ourValue !== undefined && ourValue > 0 && value > 0) {
        ratio = ` (${(higherBetter ? ourValue / value : value / ourValue).toFixed(2)})`;
      }
      cells.push(format(value) + ratio);
    }
    rows.push(cells);
  }
}
const line = (cells) => `| ${cells.join(' | ')} |`;
console.log(line(header));
console.log(line(header.map(() => '---')));
for (const row of rows) console.log(line(row));

// Runs that were not sound: lost connections, errors, missing deliveries.
for (const r of runs) {
  if (r.failed) continue;
  const notes = [];
  if (r.connect_failures) notes.push(`${r.connect_failures} connect failures`);
  if (r.unexpected_closes) notes.push(`${r.unexpected_closes} connections lost`);
  if (r.errors) notes.push(`${r.errors} errors`);
  if (r.expected_deliveries && r.deliveries < r.expected_deliveries) {
    notes.push(`${r.deliveries} of ${r.expected_deliveries} deliveries arrived`);
  }
  if (notes.length) console.log(`note: ${r.label}, ${r.target}: ${notes.join(', ')}${r.first_error ? ` (${r.first_error})` : ''}`);
}
