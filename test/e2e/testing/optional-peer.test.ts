import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const entry = fileURLToPath(new URL('../../../lib/testing/index.ts', import.meta.url));

// A child process in which `import('selfsigned')` fails as if the optional
// peer dependency were not installed.
const script = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  export async function resolve(specifier, context, next) {
    if (specifier === 'selfsigned') {
      const error = new Error("Cannot find package 'selfsigned'");
      error.code = 'ERR_MODULE_NOT_FOUND';
      throw error;
    }
    return next(specifier, context);
  }\`));
const { startEntraEmulator } = await import(${JSON.stringify(entry)});
const plain = await startEntraEmulator();
await plain.close();
console.log('http ok');
try {
  await startEntraEmulator({ https: true });
  console.log('https started');
} catch (error) {
  console.log(error.message);
}
`;

describe('Entra emulator: selfsigned is an optional peer dependency', () => {
  it('works over http without it, and explains how to install it for https', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    });
    expect(stdout).to.contain('http ok');
    expect(stdout).to.contain('needs the optional peer dependency "selfsigned"');
    expect(stdout).to.contain('npm install --save-dev selfsigned');
    expect(stdout).to.not.contain('https started');
  });
});
