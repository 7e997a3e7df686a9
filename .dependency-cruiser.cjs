// The architecture as rules: imports run one way, from the entry points down.
//   adapters -> options -> gateway -> subjects -> provider -> grants -> http -> core
// lib/index.ts re-exports the adapters; lib/redis and lib/testing are add-ons that sit beside
// the adapters: they may use the core, and nothing in the core may use them.
const layers = ['adapters', 'options', 'gateway', 'subjects', 'provider', 'grants', 'http', 'core'];

/** Every layer above `layer`, as a path pattern. */
const above = (layer) => `^lib/(${layers.slice(0, layers.indexOf(layer)).join('|')}|redis|testing)/`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, at file level, anywhere in the tree.',
      from: {},
      to: { circular: true },
    },
    ...layers.slice(1).map((layer) => ({
      name: `${layer}-imports-down-only`,
      severity: 'error',
      comment: `lib/${layer} never imports a layer above it (${layers.slice(0, layers.indexOf(layer)).join(', ')}) or an add-on.`,
      from: { path: `^lib/${layer}/` },
      to: { path: above(layer) },
    })),
    {
      name: 'adapters-do-not-import-each-other-s-entry-points',
      severity: 'error',
      comment: 'lib/index.ts is the package entry; nothing inside lib imports it.',
      from: { path: '^lib/' },
      to: { path: '^lib/index\\.ts$' },
    },
    {
      name: 'add-ons-use-the-core-only',
      severity: 'error',
      comment: 'lib/redis and lib/testing build on the core and on public option checks, never on adapters, the gateway or subjects.',
      from: { path: '^lib/(redis|testing)/' },
      to: { path: '^lib/(adapters|gateway|subjects)/' },
    },
    {
      name: 'lib-never-imports-tests-or-tools',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(test|bench|example-app|examples|scripts)/' },
    },
    {
      name: 'only-known-folders-in-lib',
      severity: 'error',
      comment: 'Every module of lib lives in a layer folder (or is the entry point), so the rules above cover it.',
      from: { path: '^lib/', pathNot: `^lib/(index\\.ts$|(${layers.join('|')}|redis|testing)/)` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    exclude: { path: '(^|/)(node_modules|dist|build)/' },
  },
};
