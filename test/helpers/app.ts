// Starts a real Jobline app in-process on a free port with a fresh SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { buildApp, type App } from '../../src/server/app.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: App;
  url: string;
  dir: string;
  dbFile: string;
  stop(): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'jobline-test-'));
}

export async function startApp(
  env: Record<string, string> = {},
  dir = tempDir(),
  options: { clock?: Clock; keepDir?: boolean } = {},
): Promise<TestApp> {
  const dbFile = path.join(dir, 'jobline.db');
  const config = loadConfig({
    DATABASE_URL: `file:${dbFile}`,
    PORT: '0',
    HOST: '127.0.0.1',
    JOBLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    JOBLINE_LOG: 'silent',
    JOBLINE_PROGRESS_INTERVAL_MS: '100',
    ...env,
  });
  const fatal: unknown[] = [];
  const app = await buildApp(config, { onFatal: (error) => fatal.push(error), clock: options.clock });
  const { url } = await app.start();
  return {
    app,
    url,
    dir,
    dbFile,
    stop: async () => {
      await app.stop();
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      if (fatal.length > 0) throw new Error(`fatal dispatcher errors: ${fatal.map(String).join('; ')}`);
    },
  };
}
