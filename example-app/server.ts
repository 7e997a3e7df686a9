/**
 * `npm start`: runs the example. With no Azure variables it is fully local
 * (Entra ID emulator + sample backend); see example-app/config.ts for the
 * variables that switch it to real Entra ID.
 */
import { ConfigError, isLoopback, loadConfig, type ExampleConfig } from './config.js';
import { LOCAL_TOKEN_LIFETIME_SECONDS, PortInUseError, startExample, type RunningExample } from './example.js';
import { CALLBACK_PATH } from './sign-in.js';

const useColor = process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined;
const paint = (code: number, text: string): string => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = (text: string): string => paint(2, text);
const bold = (text: string): string => paint(1, text);

function time(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** The middleware names a token by its cache key (authority|client|tenant|scope); the scope says enough here. */
function shorten(line: string): string {
  return line.replace(/\S+\|\S+\|\S+\|(\S+)/g, '$1');
}

function log(source: 'bff' | 'backend', line: string): void {
  line = source === 'bff' ? shorten(line) : line;
  console.log(`${dim(time())} ${source === 'bff' ? paint(36, '[bff]    ') : paint(35, '[backend]')} ${line}`);
}

/** `http://127.0.0.1:3000` is printed as `http://localhost:3000`: what people type. */
function browserUrl(url: string): string {
  return url.replace(/^http:\/\/(127\.0\.0\.1|0\.0\.0\.0|\[::\])(?=:)/, 'http://localhost');
}

function banner(config: ExampleConfig, running: RunningExample): string {
  const page = browserUrl(running.url);
  const rows: [string, string, string][] = [
    ['Open', page, 'the page: verified claims, token stats, sign-in, buttons to try'],
    ['API', `${page}/api/whoami`, 'through the BFF, which adds the app token'],
    ['Status', `${page}/_bff/status`, "the token provider's counters (never the token)"],
  ];
  if (config.mode === 'local') {
    rows.push(['Entra ID', running.emulator!.url, `local emulator: tokens live ${LOCAL_TOKEN_LIFETIME_SECONDS} s`], ['Backend', running.backendUrl, 'sample resource server: verifies the JWT']);
  } else {
    rows.push(['Backend', running.backendUrl, 'BACKEND_URL']);
    if (config.credential.kind === 'client-secret') {
      rows.push(['Sign-in', `${page}${CALLBACK_PATH}`, 'register this redirect URI (platform Web) on AZURE_CLIENT_ID']);
    }
  }

  const mode = config.mode === 'local' ? 'local mode: emulator + sample backend, no Azure account needed' : 'Entra ID mode: real tokens for BACKEND_RESOURCE';
  return [
    '',
    `${bold('aad-backend-auth example')} ${dim(`(${mode})`)}`,
    '',
    ...rows.map(([name, url, what]) => `  ${name.padEnd(9)} ${bold(url.padEnd(38))} ${dim(what)}`),
    '',
    ...(config.mode === 'azure' && !isLoopback(config.host)
      ? [`${bold('Note:')} HOST=${config.host} (ALLOW_REMOTE_HOST=1): other machines can reach this BFF and its app token.`, '']
      : []),
    `Open ${bold(page)} in your browser. Press Ctrl+C to stop.`,
    '',
  ].join('\n');
}

/** Known mistakes get one line and exit code 1; no stack trace. */
function fail(error: unknown): never {
  const known = error instanceof ConfigError || error instanceof PortInUseError || (error as { code?: unknown })?.code === 'ERR_INVALID_OPTION';
  const message = known ? (error as Error).message : `could not start: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`example-app: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: ExampleConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    fail(error);
  }
  let running: RunningExample;
  try {
    running = await startExample(config, { log });
  } catch (error) {
    fail(error);
  }
  console.log(banner(config, running));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
