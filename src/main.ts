// `npm start`: serve Jobline. Everything is configured by environment (src/config.ts).
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { buildApp } from './server/app.ts';

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`jobline: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

let config;
try {
  config = loadConfig();
} catch (error) {
  exitOnConfigError(error);
}

const log = createLogger(config.logLevel);
const app = await buildApp(config, { log }).catch(exitOnConfigError);
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: draining`);
    app.stop().then(
      () => {
        log.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        log.error('stop failed', { error: String(error) });
        process.exit(1);
      },
    );
  });
}

// Signal handlers are in place before anyone is told where to connect.
let started;
try {
  started = await app.start();
} catch (error) {
  const code = (error as { code?: string }).code;
  console.error(
    code === 'EADDRINUSE'
      ? `jobline: port ${config.port} is already in use; set PORT to another port`
      : `jobline: could not listen on ${config.host}:${config.port}: ${String(error)}`,
  );
  await app.stop();
  process.exit(1);
}
const { url, createdAdminToken } = started;
if (createdAdminToken) {
  // Printed once, on the first start: only its hash is stored.
  console.log(
    [
      '',
      '  An admin user was created. Its token (shown only now — keep it):',
      '',
      `    ${createdAdminToken}`,
      '',
      '  Or set JOBLINE_ADMIN_TOKEN to choose the admin token yourself.',
      '',
    ].join('\n'),
  );
}
// Printed even when JOBLINE_LOG=silent: scripts and tests read the port from it.
console.log(`serving ${url}`);
log.info('started', { database: config.databaseUrl, processors: config.processors });
