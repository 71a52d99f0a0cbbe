// The PostgreSQL server the pgvector tests run against: XMODAL_TEST_DATABASE, or the one scripts/postgres.sh
// started (.ci/run starts it). Without one the tests are skipped with a line saying how to start it; under CI
// they run, and a missing server fails them.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../scripts/postgres.sh', import.meta.url));

function find(): string | undefined {
  if (process.env.XMODAL_TEST_DATABASE) return process.env.XMODAL_TEST_DATABASE;
  try {
    return execFileSync('bash', [script, 'url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const TEST_DATABASE = find();
export const skipWithoutDatabase = !TEST_DATABASE && !process.env.CI ? 'no PostgreSQL with pgvector running (bash scripts/postgres.sh start)' : false;

/** An index name no other test file (they run two at a time) uses. */
export function uniqueIndexName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now() % 100000}`;
}
